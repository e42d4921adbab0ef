"""The report's environment section: what changed between two snapshots' environment records."""

from __future__ import annotations

from mlv.core.report.environment import MAX_PACKAGES, environment_view
from mlv.model.ids import ObjectId
from mlv.model.manifest import EnvironmentRecord, Lock, PlatformRecord, PythonRecord


def record(packages: list[str], python: str = "3.11.7", **variables: str) -> EnvironmentRecord:
    return EnvironmentRecord(
        ObjectId.xxh128("f" * 32),  # not compared: the fields are
        PythonRecord("CPython", python),
        PlatformRecord("Linux", "x86_64", "6.1"),
        packages,
        {},
        dict(variables),
    )


def test_changed_added_removed_packages_and_interpreter() -> None:
    old = Lock(environment=record(["numpy==1.26.0", "pandas==2.1.0", "six==1.16.0"]))
    new = Lock(environment=record(["numpy==2.0.0", "pandas==2.1.0", "torch==2.3.0"], "3.12.1"))
    view = environment_view(old, new, "a", "b")
    assert view.any and view.note == ""
    assert view.python == ("CPython 3.11.7", "CPython 3.12.1")
    assert view.changed == [("numpy", "1.26.0", "2.0.0")]
    assert (view.added, view.removed) == (["torch==2.3.0"], ["six==1.16.0"])


def test_no_environment_recorded_and_long_lists() -> None:
    view = environment_view(Lock(), Lock(environment=record([])), "old1", "new1")
    assert view.note == "no environment recorded in old1" and not view.any
    many = [f"p{i}==1.0" for i in range(MAX_PACKAGES + 7)]
    view = environment_view(Lock(environment=record([])), Lock(environment=record(many)), "a", "b")
    assert len(view.added) == MAX_PACKAGES and view.note == "7 more package changes not listed"
