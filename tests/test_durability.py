"""Durability after power loss: the objects a manifest names reach the disk before the manifest.

A sync cannot be observed without cutting the power, so these tests read the order of mlv's
durable steps instead: ``MLV_FAULT=count:FILE`` lists every mark, and the store's sync is one
(``sync <store root>``). The sync must come after the objects the command published and before
mlv.lock (or, for pull, the work tree) relies on them; with no object written there is none.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mlv import faults
from tests.conftest import MlvRunner, git, write
from tests.crash import store_objects

Marks = list[tuple[str, str]]  # (kind, label) in the order mlv passed them


@pytest.fixture
def marks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Callable[[], Marks]]:
    """Count the in-process runner's marks; calling the fixture returns (and clears) the list."""
    log = tmp_path / "marks.log"
    monkeypatch.setenv(faults.ENV, f"count:{log}")
    faults.reload()

    def taken() -> Marks:
        lines = log.read_text().splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        return [(kind, label) for _, kind, label in (line.split(" ", 2) for line in lines)]

    yield taken
    monkeypatch.delenv(faults.ENV)
    faults.reload()


def syncs(taken: Marks) -> list[int]:
    return [i for i, (kind, label) in enumerate(taken) if kind == "step" and is_sync(label)]


def is_sync(label: str) -> bool:
    """The store's objects made durable: a pack's index renamed into place (after its data was
    fsynced), or a sync of loose objects."""
    packed = "/.mlv/cache/packs/" in label and label.endswith(".idx")
    return packed or (label.startswith("sync ") and label.endswith("/.mlv/cache"))


def published(taken: Marks) -> list[int]:
    """Objects written to the store: pack data written, or loose objects renamed into place."""
    return [
        i
        for i, (kind, label) in enumerate(taken)
        if (kind == "step" and "/xxh128/" in label and "/tables/" not in label)
        or (kind == "write" and "/.mlv/cache/tmp/.pack." in label)
    ]


def lock_write(taken: Marks) -> int:
    [index] = [i for i, (kind, label) in enumerate(taken) if label.endswith("/mlv.lock")]
    return index


def test_snapshot_syncs_its_objects_once_before_mlv_lock_names_them(
    project: Path, mlv: MlvRunner, marks: Callable[[], Marks]
) -> None:
    for i in range(20):
        write(project / f"data/part-{i}.csv", f"id\n{i}\n")
    write(project / "data/big.bin", os.urandom(1536 * 1024))  # copied by the kernel, not read
    write(project / "model.bin", os.urandom(4096))
    assert mlv("track", "data", "model.bin").code == 0
    marks()
    assert mlv("snapshot", "-m", "one").code == 0
    taken = marks()
    [sync] = syncs(taken)  # one for the whole snapshot, not one per object
    assert len(store_objects(project / ".mlv/cache")) >= 23  # 22 files, a tree (and more)
    assert max(published(taken)) < sync < lock_write(taken)
    assert sync < taken.index(("step", "git commit"))

    assert mlv("snapshot", "-m", "again").code == 0  # nothing new: nothing to sync
    assert syncs(marks()) == []

    write(project / "data/part-3.csv", "id\nthree\n")
    before = set(store_objects(project / ".mlv/cache"))
    assert mlv("snapshot", "--no-commit").code == 0
    taken = marks()
    [sync] = syncs(taken)
    # The file, its directory's tree, and the table's summary.
    assert len(set(store_objects(project / ".mlv/cache")) - before) == 3
    assert max(published(taken)) < sync < lock_write(taken)


STAGE = (
    "import pathlib; pathlib.Path('out').mkdir(exist_ok=True); "
    "pathlib.Path('out/result.txt').write_text(pathlib.Path('in.txt').read_text() * 2)"
)


def test_run_syncs_outputs_before_recording_them_and_before_clearing_them(
    project: Path, mlv: MlvRunner, marks: Callable[[], Marks]
) -> None:
    write(project / "in.txt", "x\n")
    assert mlv("track", "in.txt").code == 0
    assert mlv("stage", "add", "double", "-d", "in.txt", "-o", "out", "--", "python", "-c",
               STAGE).code == 0  # fmt: skip
    marks()
    assert mlv("run").code == 0
    taken = marks()
    [sync] = syncs(taken)
    assert published(taken) and max(published(taken)) < sync < lock_write(taken)

    # An edited output is saved to the store before the forced re-run removes it: the store
    # then holds its only copy, so it is on disk before the work tree loses it. The new input
    # gives new outputs, synced in turn before mlv.lock records them.
    write(project / "out/result.txt", "edited by hand\n")
    write(project / "in.txt", "y\n")
    assert mlv("run", "--force").code == 0
    taken = marks()
    removal = taken.index(("step", "out"))
    first, second = syncs(taken)
    saved = [i for i in published(taken) if i < removal]
    assert saved and max(saved) < first < removal
    assert first < second < lock_write(taken)

    assert mlv("run").code == 0  # up to date: nothing stored, nothing synced
    assert syncs(marks()) == []


def test_fetch_syncs_what_it_downloaded_before_pull_checks_it_out(
    tmp_path: Path,
    project: Path,
    mlv: MlvRunner,
    marks: Callable[[], Marks],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for i in range(5):
        write(project / f"data/f{i}.bin", os.urandom(3000))
    remote = tmp_path / "remote"
    remote.mkdir()
    assert mlv("track", "data").code == 0
    assert mlv("remote", "add", "origin", str(remote), "--default").code == 0
    assert mlv("snapshot", "-m", "data").code == 0
    assert mlv("push").code == 0
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(project), str(clone))
    monkeypatch.chdir(clone)
    marks()
    assert mlv("pull").code == 0
    taken = marks()
    [sync] = syncs(taken)
    checkout = [i for i, (_, label) in enumerate(taken) if f"{clone}/data/" in label]
    remote_ids = {f"xxh128:{p.parent.name}{p.name}" for p in remote.rglob("xxh128/*/*")}
    assert remote_ids <= set(store_objects(clone / ".mlv/cache"))
    assert max(published(taken)) < sync < min(checkout)

    assert mlv("fetch").code == 0  # everything is there: nothing downloaded, nothing synced
    assert syncs(marks()) == []


def test_push_to_a_directory_remote_syncs_files_then_trees(
    project: Path, mlv: MlvRunner, marks: Callable[[], Marks]
) -> None:
    """gc removes local history that a remote holds: a directory remote's copies must reach its
    disk, the files before the tree object that lists them."""
    write(project / "data/a.csv", "a\n1\n")
    write(project / "data/b.csv", "b\n2\n")
    assert mlv("track", "data").code == 0
    assert mlv("snapshot", "-m", "one").code == 0
    remote = project.parent / "remote"
    assert mlv("remote", "add", "origin", str(remote)).code == 0
    tree = json.loads((project / "mlv.lock").read_text())["artifacts"]["data"]["id"]
    tree_key = f"/xxh128/{tree.split(':')[1][:2]}/{tree.split(':')[1][2:]}"
    marks()
    assert mlv("push", "--loose").code == 0  # one file per object (packs: the crash sweep)
    taken = marks()
    uploads = [
        i
        for i, (kind, label) in enumerate(taken)
        if kind == "step" and label.startswith(str(remote) + "/xxh128/")
    ]
    remote_syncs = [i for i, (kind, label) in enumerate(taken) if label == f"sync {remote}"]
    [tree_upload] = [i for i in uploads if taken[i][1].endswith(tree_key)]
    assert len(remote_syncs) == 2, taken
    assert max(i for i in uploads if i != tree_upload) < remote_syncs[0] < tree_upload
    assert tree_upload < remote_syncs[1]

    assert mlv("push", "--loose").code == 0  # nothing new: no sync
    assert not [label for _, label in marks() if label.startswith("sync ")]
