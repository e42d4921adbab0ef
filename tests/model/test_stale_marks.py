"""The stale mark of a stage record in mlv.lock, and the schema version that carries it."""

import json

import msgspec
import pytest

from mlv.errors import ManifestError
from mlv.model.ids import ObjectId
from mlv.model.manifest import Lock, StageRecord, decode_lock, encode_lock

ID = ObjectId.xxh128("d" * 32)


def _lock(stale: list[str] | None = None) -> Lock:
    record = StageRecord(cmd="make", deps={"in.txt": ID}, outs={"out.txt": ID})
    if stale is not None:
        record = msgspec.structs.replace(record, stale=stale)
    return Lock(stages={"make": record})


def test_a_lock_without_marks_is_written_as_before() -> None:
    data = encode_lock(_lock())
    doc = json.loads(data)
    assert doc["schema"] == 1 and "stale" not in doc["stages"]["make"]
    assert decode_lock(data).stages["make"].stale_reasons == []


def test_a_marked_lock_is_schema_2_and_round_trips() -> None:
    data = encode_lock(_lock(["output changed: out.txt"]))
    doc = json.loads(data)
    assert doc["schema"] == 2
    assert doc["stages"]["make"]["stale"] == ["output changed: out.txt"]
    again = decode_lock(data)
    assert again.stages["make"].stale_reasons == ["output changed: out.txt"]
    assert encode_lock(again) == data
    # Dropping the mark goes back to version 1, byte for byte what it was.
    cleared = msgspec.structs.replace(
        again, stages={"make": msgspec.structs.replace(again.stages["make"], stale=msgspec.UNSET)}
    )
    assert encode_lock(cleared) == encode_lock(_lock())


@pytest.mark.parametrize(
    ("schema", "stale", "needle"),
    [
        (1, ["output changed: out.txt"], "schema version 1 cannot say"),
        (2, [], "without a reason"),
        (5, None, "upgrade mlv"),
    ],
)
def test_marks_are_validated(schema: int, stale: list[str] | None, needle: str) -> None:
    doc = json.loads(encode_lock(_lock()))
    doc["schema"] = schema
    if stale is not None:
        doc["stages"]["make"]["stale"] = stale
    with pytest.raises(ManifestError) as info:
        decode_lock(json.dumps(doc).encode())
    assert needle in (info.value.message + " " + (info.value.hint or ""))
