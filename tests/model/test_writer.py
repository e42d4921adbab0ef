"""The record of the mlv that wrote mlv.lock (schema 3), and what a restore may install for it."""

from __future__ import annotations

import json

import msgspec
import pytest

from mlv.errors import ManifestError
from mlv.model.distribution import is_own_package
from mlv.model.manifest import Lock, WriterRecord, decode_lock, encode_lock, index_requirement

WRITER = WriterRecord(version="0.1.0", distribution="mlv-cli", install="index")


def test_a_lock_naming_its_writer_is_schema_3_and_round_trips() -> None:
    data = encode_lock(Lock(mlv=WRITER))
    doc = json.loads(data)
    assert doc["schema"] == 3
    assert doc["mlv"] == {"distribution": "mlv-cli", "install": "index", "version": "0.1.0"}
    again = decode_lock(data)
    assert again.writer == WRITER and encode_lock(again) == data


def test_older_locks_stay_readable_and_byte_identical() -> None:
    old = b'{\n  "artifacts": {},\n  "code": null,\n  "environment": null,\n  "schema": 1,\n'
    old += b'  "stages": {}\n}\n'
    lock = decode_lock(old)
    assert lock.writer is None and encode_lock(lock) == old


def test_a_writer_in_an_older_schema_is_malformed() -> None:
    doc = json.loads(encode_lock(Lock(mlv=WRITER)))
    doc["schema"] = 2
    with pytest.raises(ManifestError, match="schema version 2 cannot say"):
        decode_lock(json.dumps(doc).encode())


def test_a_newer_lock_names_the_mlv_that_wrote_it() -> None:
    doc = json.loads(encode_lock(Lock(mlv=WRITER)))
    doc["schema"] = 5
    doc["mlv"]["version"] = "0.9.0"
    doc["novelty"] = {"anything": 1}  # what a newer schema may add is never parsed
    with pytest.raises(ManifestError) as info:
        decode_lock(json.dumps(doc).encode())
    assert "schema version 5 (written by mlv 0.9.0)" in info.value.message
    assert "reads versions 1, 2, 3 and 4" in info.value.message
    assert info.value.hint is not None and "pip install -U mlv-cli" in info.value.hint


def test_an_unknown_install_kind_is_malformed() -> None:
    doc = json.loads(encode_lock(Lock(mlv=WRITER)))
    doc["mlv"]["install"] = "conda"
    with pytest.raises(ManifestError, match="malformed"):
        decode_lock(json.dumps(doc).encode())


@pytest.mark.parametrize(
    ("install", "expected"),
    [
        ("index", "mlv-cli==0.1.0"),
        ("editable", None),
        ("local", None),
        ("vcs", None),
        ("source", None),
    ],
)
def test_only_an_index_install_is_installed_again_by_name(
    install: str, expected: str | None
) -> None:
    writer = msgspec.structs.replace(WRITER, install=install)
    assert index_requirement(writer) == expected


def test_no_writer_means_nothing_from_the_index() -> None:
    assert index_requirement(None) is None


@pytest.mark.parametrize(
    ("requirement", "own"),
    [
        ("mlv-cli==0.1.0", True),
        ("MLV_cli==0.2.0", True),
        ("mlv==0.1.0", True),  # this project before the rename
        ("mlv==1.3.10", False),  # PyPI's unrelated mlv
        ("mlvx==0.1.0", False),
        ("click==8.1.7", False),
    ],
)
def test_mlv_itself_is_recognised_in_an_environment_record(requirement: str, own: bool) -> None:
    assert is_own_package(requirement) is own
