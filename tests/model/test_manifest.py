import json

import pytest

from mlv.errors import ManifestError
from mlv.model import manifest
from mlv.model.ids import ObjectId
from mlv.model.manifest import (
    ArtifactRecord,
    CodeRecord,
    EnvironmentRecord,
    Lock,
    PlatformRecord,
    PythonRecord,
    decode_lock,
    encode_lock,
)

ID = ObjectId.xxh128("c" * 32)


def sample() -> Lock:
    env = EnvironmentRecord(
        fingerprint=ID,
        python=PythonRecord("CPython", "3.11.7"),
        platform=PlatformRecord("linux", "x86_64", "6.1"),
        packages=["b==2", "a==1"],
        lockfiles={"uv.lock": ID},
    )
    return Lock(
        artifacts={
            "models/m.pkl": ArtifactRecord(kind="model", type="file", id=ID, size=3, files=1),
            "data/raw": ArtifactRecord(kind="data", type="dir", id=ID, size=9, files=4),
        },
        environment=env,
        code=CodeRecord(commit="f" * 40, tree="e" * 40, patch=ID, dirty=True),
    )


def test_round_trip_is_canonical() -> None:
    lock = sample()
    data = encode_lock(lock)
    assert decode_lock(data) == lock
    assert encode_lock(decode_lock(data)) == data
    text = data.decode()
    assert text.endswith("}\n") and '\n  "artifacts": {\n' in text
    keys = list(json.loads(text)["artifacts"])
    assert keys == sorted(keys)
    assert lock.object_ids() == {ID}


def _mutated(**changes: object) -> bytes:
    doc = json.loads(encode_lock(sample()))
    doc.update(changes)
    return json.dumps(doc).encode()


def _record(path: str) -> dict[str, object]:
    return {path: {"kind": "data", "type": "file", "id": str(ID), "size": 1, "files": 1}}


def _stage(deps: dict[str, str], outs: dict[str, str]) -> dict[str, object]:
    return {"train": {"cmd": "python train.py", "deps": deps, "outs": outs}}


def _environment(lockfiles: dict[str, str]) -> dict[str, object]:
    doc = json.loads(encode_lock(sample()))
    return {**doc["environment"], "lockfiles": lockfiles}


@pytest.mark.parametrize(
    "data",
    [
        _mutated(artifacts=_record("data/.git/hooks/post-checkout")),
        _mutated(artifacts=_record(".git/config")),
        _mutated(artifacts=_record("data/.GIT/hooks/pre-commit")),
        _mutated(artifacts=_record("data/git~1/hooks/pre-commit")),
        _mutated(artifacts=_record("data/.git. /hooks/pre-commit")),
        _mutated(artifacts=_record("data/.g\ufeffit/hooks/pre-commit")),
        _mutated(stages=_stage({"data/.git/config": str(ID)}, {})),
        _mutated(stages=_stage({}, {"out/.Git/hooks/post-merge": str(ID)})),
        _mutated(environment=_environment({"env/.git/uv.lock": str(ID)})),
    ],
)
def test_git_directories_anywhere_are_refused(data: bytes) -> None:
    with pytest.raises(ManifestError, match=r"\.git component"):
        decode_lock(data)


@pytest.mark.parametrize(
    "paths",
    [("M.pkl", "m.pkl"), ("\u00e9.csv", "e\u0301.csv"), ("Data/x", "data/y"), ("a", "A/b")],
)
def test_artifacts_that_are_one_file_on_macos_or_windows_are_refused(
    paths: tuple[str, str],
) -> None:
    data = _mutated(artifacts={**_record(paths[0]), **_record(paths[1])})
    with pytest.raises(ManifestError, match="case-insensitive"):
        decode_lock(data)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"", "malformed"),
        (b"{not json", "malformed"),
        (b"[]", "malformed"),
        (_mutated(schema=5), "schema version 5"),
        (_mutated(schema=0), "schema version 0"),
        (_mutated(surprise=1), "malformed"),
        (
            _mutated(
                artifacts={
                    "../x": {"kind": "data", "type": "file", "id": str(ID), "size": 1, "files": 1}
                }
            ),
            "leaves the repository",
        ),
        (
            _mutated(
                artifacts={
                    "/etc/passwd": {
                        "kind": "data",
                        "type": "file",
                        "id": str(ID),
                        "size": 1,
                        "files": 1,
                    }
                }
            ),
            "absolute",
        ),
        (
            _mutated(
                artifacts={
                    "a": {"kind": "data", "type": "file", "id": "md5:00", "size": 1, "files": 1}
                }
            ),
            "algorithm",
        ),
        (
            _mutated(
                artifacts={
                    "a": {"kind": "weird", "type": "file", "id": str(ID), "size": 1, "files": 1}
                }
            ),
            "malformed",
        ),
        (
            _mutated(
                artifacts={
                    "a": {"kind": "data", "type": "dir", "id": str(ID), "size": 1, "files": 1},
                    "a/b": {"kind": "data", "type": "file", "id": str(ID), "size": 1, "files": 1},
                }
            ),
            "inside",
        ),
    ],
)
def test_bad_manifests_are_clear_errors(data: bytes, needle: str) -> None:
    with pytest.raises(ManifestError) as info:
        decode_lock(data)
    assert needle in info.value.message
    assert info.value.exit_code == 2


def test_a_manifest_past_the_size_limit_is_refused_before_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = encode_lock(sample())
    monkeypatch.setattr(manifest, "MAX_LOCK_BYTES", len(data))
    assert decode_lock(data) == sample()
    monkeypatch.setattr(manifest, "MAX_LOCK_BYTES", len(data) - 1)
    with pytest.raises(ManifestError, match=f"is {len(data):,} bytes") as info:
        decode_lock(data, source="mlv.lock at abc")
    assert "mlv.lock at abc" in info.value.message and info.value.hint


def _artifact(**fields: object) -> bytes:
    record: dict[str, object] = {"kind": "data", "type": "file", "id": str(ID), "size": 1}
    record["files"] = 1
    record.update(fields)
    return _mutated(artifacts={"a": record})


def _raw_size(literal: str) -> bytes:
    return _artifact(size=0).replace(b'"size": 0', b'"size": ' + literal.encode())


DEEP = b"[" * 100_000 + b"]" * 100_000
GOOD = encode_lock(sample())

# Malformed manifests of every shape (issue #7): each must be a ManifestError, exit 2.
MALFORMED = [
    (GOOD[: len(GOOD) // 2], "malformed"),  # truncated mid-file
    (GOOD[:-3], "malformed"),  # truncated at the very end
    (b"[1, 2]", "malformed"),  # a list, not an object
    (b'"mlv"', "malformed"),
    (b"null", "malformed"),
    (b'{"schema": "1"}', "malformed"),  # schema as a string
    (b'{"schema": 1.0}', "malformed"),
    (b'{"schema": null}', "malformed"),
    (b'{"schema": 1e400}', "malformed"),
    (b'{"schema": 99999999999999999999999}', "schema version"),
    (b"\xef\xbb\xbf" + GOOD, "malformed"),  # a byte-order mark
    ('{"schema": 1}'.encode("utf-16"), "malformed"),
    (GOOD + b"{}", "malformed"),  # trailing garbage
    (b'{"schema": 1, "artifacts": {"\xff": 1}}', "malformed"),  # not UTF-8
    (_artifact(id="sha256:" + "ab" * 32), "unknown hash algorithm 'sha256'"),
    (_artifact(id="xxh128:" + "AB" * 16), "malformed xxh128 digest"),  # upper case
    (_artifact(id="xxh128:" + "ab" * 15), "malformed xxh128 digest"),  # too short
    (_artifact(id="xxh128:" + "ab" * 17), "malformed xxh128 digest"),  # too long
    (_artifact(id="ab" * 16), "malformed object id"),  # no algorithm
    (_artifact(id=5), "object id"),
    (_artifact(id=None), "object id"),
    (_artifact(size=-1), "impossible size"),
    (_artifact(files=-1), "impossible size or file count"),
    (_artifact(size=10**30), "impossible size"),  # a huge integer
    (_artifact(size=2**63), "impossible size"),
    (_artifact(files=2**64), "impossible size or file count"),
    (_raw_size("NaN"), "malformed"),
    (_raw_size("Infinity"), "malformed"),
    (_raw_size("1e400"), "malformed"),
    (_raw_size("1.5"), "malformed"),
    (_raw_size("true"), "malformed"),
    (_raw_size('"1"'), "malformed"),
    (
        _mutated(stages=_stage({}, {})).replace(b'"outs": {}', b'"outs": {}, "duration": NaN'),
        "malformed",
    ),
    (
        _mutated(stages={"s": {"cmd": "x", "deps": {}, "outs": {}, "params": {"p": 0}}}).replace(
            b'"p": 0', b'"p": ' + DEEP
        ),
        "malformed",
    ),  # nested 10^5 deep: was a RecursionError
    (_mutated(environment={"fingerprint": None}), "malformed"),
]


@pytest.mark.parametrize(("data", "needle"), MALFORMED)
def test_malformed_manifests_of_every_shape(data: bytes, needle: str) -> None:
    with pytest.raises(ManifestError) as info:
        decode_lock(data)
    assert needle in info.value.message and info.value.hint
