"""The report's environment section: `mlv env diff` of two snapshots' records, with the pins of
requirements lockfiles when they can be read, and an account of a snapshot that has none."""

from __future__ import annotations

from mlv.core.history.report_env import environment_view
from mlv.model.ids import ObjectId
from mlv.model.manifest import EnvironmentRecord, Lock, PlatformRecord, PythonRecord
from mlv.storage.hashing import hash_bytes


def record(
    packages: list[str], python: str = "3.11.7", lockfiles: dict[str, ObjectId] | None = None
) -> EnvironmentRecord:
    return EnvironmentRecord(
        ObjectId.xxh128("f" * 32),  # not compared: the fields are
        PythonRecord("CPython", python),
        PlatformRecord("Linux", "x86_64", "6.1"),
        packages,
        lockfiles or {},
        {},
    )


def test_upgraded_downgraded_added_removed_interpreter_and_pins() -> None:
    texts = {hash_bytes(t): t for t in (b"numpy==1.26.0\n", b"numpy==2.0\n")}
    old_req, new_req = list(texts)
    old = Lock(
        environment=record(
            ["numpy==1.26.0", "pandas==2.1.0", "six==1.16.0"],
            lockfiles={"requirements.txt": old_req},
        )
    )
    new = Lock(
        environment=record(
            ["numpy==2.0.0", "pandas==2.0.0", "torch==2.3.0"],
            "3.12.1",
            lockfiles={"requirements.txt": new_req},
        )
    )
    view = environment_view(old, new, "a", "b", read=texts.get)
    d = view.diff
    assert d is not None and view.note == ""
    assert d.python is not None and (d.python.old, d.python.new) == (
        "CPython 3.11.7",
        "CPython 3.12.1",
    )
    assert [(c.name, c.old, c.new) for c in d.upgraded] == [("numpy", "1.26.0", "2.0.0")]
    assert [(c.name, c.old, c.new) for c in d.downgraded] == [("pandas", "2.1.0", "2.0.0")]
    assert [c.name for c in d.added] == ["torch"] and [c.name for c in d.removed] == ["six"]
    [lockfile] = d.lockfiles
    assert lockfile.status == "modified" and lockfile.pins is not None
    assert [(p.name, p.old, p.new) for p in lockfile.pins] == [("numpy", "==1.26.0", "==2.0")]
    # without a reader the lockfile is only "modified"
    assert environment_view(old, new, "a", "b").diff.lockfiles[0].pins is None  # type: ignore[union-attr]


def test_no_environment_recorded() -> None:
    view = environment_view(Lock(), Lock(environment=record([])), "old1", "new1")
    assert view.note == "no environment recorded in old1" and view.diff is None
    assert view.new_fingerprint is not None and view.old_fingerprint is None
