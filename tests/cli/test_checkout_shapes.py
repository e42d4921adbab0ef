"""Checkout where the work tree's shape differs from the snapshot's: nested directories that must
go, and a file standing where a directory of the snapshot belongs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import MlvRunner, write


def test_nested_directories_a_snapshot_lacks_are_removed_up_to_the_artifact(
    project: Path, mlv: MlvRunner
) -> None:
    write(project / "d/keep.txt", "kept\n")
    write(project / "d/x/y/z.txt", "deep\n")
    write(project / "d/x/w.txt", "shallow\n")
    assert mlv("track", "d").code == 0
    assert mlv("snapshot", "-m", "nested").code == 0
    for path in ("d/x/y/z.txt", "d/x/w.txt"):
        (project / path).unlink()
    (project / "d/x/y").rmdir()
    (project / "d/x").rmdir()
    assert mlv("snapshot", "-m", "flat").code == 0

    assert mlv("checkout", "HEAD~1").code == 0
    assert (project / "d/x/y/z.txt").read_text() == "deep\n"
    assert mlv("checkout", "HEAD").code == 0
    assert not (project / "d/x").exists()  # every emptied level, not just the deepest
    assert (project / "d/keep.txt").read_text() == "kept\n"


@pytest.mark.parametrize("where", ["a/b", "a"])
def test_a_file_where_a_directory_of_the_snapshot_belongs_is_unsaved_work(
    project: Path, mlv: MlvRunner, where: str
) -> None:
    write(project / "a/b/c/data.csv", "x\n1\n")
    assert mlv("track", "a/b/c").code == 0
    assert mlv("snapshot", "-m", "deep artifact").code == 0
    shutil.rmtree(project / where)
    write(project / where, "my notes, never snapshotted\n")  # a file where a directory was

    refused = mlv("checkout")
    assert refused.code == 1 and where in refused.err
    assert (project / where).read_text() == "my notes, never snapshotted\n"
    assert mlv("checkout", "--force").code == 0
    assert (project / "a/b/c/data.csv").read_text() == "x\n1\n"
