"""Hostile manifests (issue #7): huge and malformed mlv.lock files and tree objects.

In the work tree or in git history, through the real CLI: exit 2 with an error and a hint, the
work tree untouched, and a manifest too large to be one never read.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import IO, Any

import pytest

from mlv.model import manifest
from tests.conftest import MlvRunner, git, tree_snapshot
from tests.hostile import peak_memory, point_artifact, refused, sparse, store_of, tracked_dir
from tests.model.test_manifest import MALFORMED


def test_a_huge_work_tree_lock_is_refused_unread(project: Path, mlv: MlvRunner) -> None:
    tracked_dir(project, mlv)
    sparse(project / "mlv.lock", manifest.MAX_LOCK_BYTES + 1)
    for args in (["status"], ["checkout"], ["show"], ["snapshot"], ["verify"]):
        result, peak = peak_memory(lambda: mlv(*args))  # noqa: B023
        refused(result, f"mlv.lock is {manifest.MAX_LOCK_BYTES + 1:,} bytes")
        assert peak < 64 * 1024 * 1024, (args, peak)
    assert (project / "mlv.lock").stat().st_size == manifest.MAX_LOCK_BYTES + 1


class CountedPipe:
    """A pipe that adds up the bytes read from it."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream, self.total = stream, 0

    def read(self, size: int = -1) -> bytes:
        return self._count(self.stream.read(size))

    def readline(self, size: int = -1) -> bytes:
        return self._count(self.stream.readline(size))

    def _count(self, data: bytes) -> bytes:
        self.total += len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class CatFileReads:
    """The output pipe of every ``git cat-file`` process started meanwhile, counting its bytes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.pipes: list[CountedPipe] = []
        real = subprocess.Popen

        def popen(args: Any, *rest: Any, **kwargs: Any) -> Any:
            proc = real(args, *rest, **kwargs)
            if list(args)[:2] == ["git", "cat-file"] and proc.stdout is not None:
                pipe = CountedPipe(proc.stdout)
                proc.stdout = pipe  # type: ignore[assignment]  # what mlv's code reads from
                self.pipes.append(pipe)
            return proc

        monkeypatch.setattr(subprocess, "Popen", popen)


def test_a_huge_lock_in_git_history_is_refused_unread(
    project: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracked_dir(project, mlv)
    committed = (project / "mlv.lock").stat().st_size
    (project / "mlv.lock").write_text('{"schema": 1}\n')  # the work tree's is small
    # A manifest is kilobytes; pretend the limit is below that rather than commit 256 MiB.
    monkeypatch.setattr(manifest, "MAX_LOCK_BYTES", committed - 1)
    head = git(project, "rev-parse", "HEAD")[:10]
    reads = CatFileReads(monkeypatch)
    for args in (["show", "HEAD"], ["checkout", "HEAD"], ["log"], ["verify"], ["gc", "--dry-run"]):
        opened = len(reads.pipes)
        result = mlv(*args)
        if args == ["log"]:  # a listing marks the one commit and goes on with the others
            assert result.code == 0, result.err
            assert f"mlv.lock at {head} is {committed:,} bytes" in result.out
        else:
            refused(result, f"mlv.lock at {head} is {committed:,} bytes")
        # decode_lock gives the same error after reading the blob: only the bytes that came
        # through git's pipe tell that its size was checked first.
        totals = [pipe.total for pipe in reads.pipes[opened:]]
        assert totals and max(totals) < committed, (args, totals)


@pytest.mark.parametrize(
    "data", [data for data, _ in MALFORMED], ids=[f"lock{i}" for i in range(len(MALFORMED))]
)
def test_every_malformed_lock_is_exit_2_with_a_hint(
    project: Path, mlv: MlvRunner, data: bytes
) -> None:
    tracked_dir(project, mlv)
    (project / "mlv.lock").write_bytes(data)
    before = tree_snapshot(project / "data")
    for args in (["status"], ["checkout", "--force"], ["show"], ["push"], ["verify"]):
        refused(mlv(*args), "mlv.lock")
    assert tree_snapshot(project / "data") == before


@pytest.mark.parametrize(
    "tree",
    [
        b"[]",
        b'{"format": 1, "entries": [["a.csv", 5, 2, false]]}',
        b'{"format": 1, "entries": [["a.csv", "sha256:' + b"ab" * 32 + b'", 2, false]]}',
        b'{"format": 1, "entries": [["a.csv", "xxh128:' + b"AB" * 16 + b'", 2, false]]}',
        b'{"format": 1, "entries": [["a.csv", "xxh128:' + b"ab" * 16 + b'", 1e999, false]]}',
        b'{"format": 1, "entries": [["a.csv", "xxh128:' + b"ab" * 16 + b'", -2, false]]}',
        b'{"format": 1, "entries": [["a.csv", "xxh128:' + b"ab" * 16 + b'", NaN, false]]}',
        b'{"format": 2, "entries": []}',
        b'{"format": 1, "entries": [["\xff", "xxh128:' + b"ab" * 16 + b'", 1, false]]}',
        b'{"format": 1, "entries": [], "empty_dirs": ' + b"[" * 10**5 + b"]" * 10**5 + b"}",
    ],
)
def test_every_malformed_tree_is_exit_2_with_a_hint(
    project: Path, mlv: MlvRunner, tree: bytes
) -> None:
    tracked_dir(project, mlv)
    point_artifact(project, "data", store_of(project).add_bytes(tree))
    before = tree_snapshot(project / "data")
    for args in (["checkout", "--force"], ["status"]):
        refused(mlv(*args), "tree object")
    assert tree_snapshot(project / "data") == before
