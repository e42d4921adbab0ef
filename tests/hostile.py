"""Helpers for the hostile-input tests (issue #7, tests/cli/test_hostile_*.py).

Every such test plants real bytes (a forged mlv.lock, a forged tree object, odd names on disk or
in a remote) and runs the real CLI; each asserts the exit code, the error and hint lines, and that
nothing appeared where it must not.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlv.model.ids import ObjectId
from mlv.storage.store import ObjectStore
from tests.conftest import MlvRunner, Result, write
from tests.crash import store_objects


def refused(result: Result, needle: str) -> None:
    """Exit 2, one error line naming ``needle``, a hint, no traceback."""
    assert result.code == 2, (result.code, result.err)
    assert result.err.startswith("error: ") and needle in result.err, result.err
    assert "\nhint: " in result.err and "Traceback" not in result.err


class _PlantingStore(ObjectStore):
    """A store whose added objects are visible at once to the mlv the test runs next (mlv
    itself makes a command's objects visible together, when it syncs them)."""

    def add_bytes(self, data: bytes) -> ObjectId:
        oid = super().add_bytes(data)
        self.sync_written()
        return oid


def store_of(project: Path) -> ObjectStore:
    return _PlantingStore(project / ".mlv/cache")


def objects(project: Path) -> set[str]:
    """The ids of the objects in ``project``'s store."""
    return set(store_objects(project / ".mlv/cache"))


def edit_lock(project: Path, mutate: Callable[[dict[str, Any]], None]) -> None:
    doc = json.loads((project / "mlv.lock").read_text())
    mutate(doc)
    (project / "mlv.lock").write_text(json.dumps(doc))


def point_artifact(project: Path, path: str, oid: ObjectId, **fields: object) -> None:
    """Make artifact ``path`` of mlv.lock name ``oid`` (and any other record fields)."""

    def mutate(doc: dict[str, Any]) -> None:
        doc["artifacts"][path].update({"id": str(oid), **fields})

    edit_lock(project, mutate)


def tracked_dir(project: Path, mlv: MlvRunner) -> None:
    write(project / "data/a.csv", "a\n")
    assert mlv("track", "data").code == 0
    assert mlv("snapshot", "-m", "data").code == 0


def sparse(path: Path, size: int) -> Path:
    """A file of ``size`` zero bytes that takes no disk space."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


def peak_memory(run: Callable[[], Result]) -> tuple[Result, int]:
    """The result of ``run`` and the most memory Python allocated meanwhile."""
    tracemalloc.start()
    try:
        result = run()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
