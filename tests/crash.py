"""Crash-test helpers: run mlv in a real process, kill it at its k-th durable step, check the state.

mlv marks every data write, rename, deletion and git update (``mlv/faults.py``). A sweep first
runs the command once with ``MLV_FAULT=count:FILE`` to learn how many marks it passes, then, for
each chosen k, copies a prepared repository, runs the command with ``MLV_FAULT=kill@k`` (the
process SIGKILLs itself at that mark) and hands the killed copy to the caller's checks.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import xxhash

from mlv.model.ids import ALGORITHMS
from mlv.storage.hashing import hash_file

# A full sweep tries every mark; the default tries at most this many, spread evenly (first and
# last included), to keep CI within its budget. MLV_FULL_SWEEP=1 runs them all.
DEFAULT_POINTS = 24


def run_mlv(
    cwd: Path, *args: str, fault: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = dict(os.environ, **(env or {}))
    environ.pop("MLV_FAULT", None)
    if fault is not None:
        environ["MLV_FAULT"] = fault
    return subprocess.run(
        [sys.executable, "-m", "mlv", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def count_marks(template: Path, scratch: Path, cwd: str, *args: str) -> list[str]:
    """The marks an uninterrupted run of ``args`` passes, in order (one line each)."""
    work = clone_dir(template, scratch / "count")
    log = scratch / "marks.log"
    done = run_mlv(work / cwd, *args, fault=f"count:{log}")
    assert done.returncode == 0, done.stderr
    shutil.rmtree(work)
    return log.read_text().splitlines() if log.exists() else []


def kill_points(total: int) -> list[int]:
    if os.environ.get("MLV_FULL_SWEEP") or total <= DEFAULT_POINTS:
        return list(range(1, total + 1))
    step = (total - 1) / (DEFAULT_POINTS - 1)
    return sorted({1 + round(i * step) for i in range(DEFAULT_POINTS)})


def clone_dir(template: Path, dst: Path) -> Path:
    """A byte-for-byte copy of a prepared work tree (its .git and .mlv included)."""
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(template, dst, symlinks=True)
    return dst


@dataclass
class Killed:
    point: int
    work: Path
    result: subprocess.CompletedProcess[str]


def sweep(
    template: Path,
    scratch: Path,
    cwd: str,
    *args: str,
    pick: Callable[[list[str]], list[int]] | None = None,
) -> Iterator[Killed]:
    """For each chosen mark k: a fresh copy of the folder ``template`` in which ``mlv args``,
    run in its subfolder ``cwd``, died at mark k. ``Killed.work`` is that subfolder.

    ``pick`` chooses the marks from the counted ones (default: ``kill_points``)."""
    marks = count_marks(template, scratch, cwd, *args)
    assert marks, f"mlv {' '.join(args)} passed no fault marks"
    points = pick(marks) if pick else kill_points(len(marks))
    assert points, "no kill point chosen"
    if pick is None:
        record_sweep(" ".join(args), len(marks), len(points))
    for point in points:
        work = clone_dir(template, scratch / "work") / cwd
        result = run_mlv(work, *args, fault=f"kill@{point}")
        assert result.returncode == -9, (
            f"mlv {' '.join(args)} was not killed at mark {point}/{len(marks)}: {result.stderr}"
        )
        yield Killed(point, work, result)


def marks_where(marks: list[str], *needles: str) -> list[int]:
    """The numbers of the marks whose line contains one of ``needles`` (e.g. ``"/mlv.lock"``)."""
    return [int(m.split()[0]) for m in marks if any(needle in m for needle in needles)]


def record_sweep(command: str, marks: int, tried: int) -> None:
    """Append a line to $MLV_SWEEP_REPORT, for the figures in the issue notes."""
    report = os.environ.get("MLV_SWEEP_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as out:
            out.write(f"{command}\t{marks} marks\t{tried} kill points tried\n")


def store_objects(cache: Path) -> dict[str, Path]:
    """Every published object of a store (or a directory remote): id -> the file holding it
    (its own file when loose, its pack when packed). Packs are read here without mlv's
    reader, from the layout in docs/format.md, so the checks do not trust the code they test."""
    found: dict[str, Path] = {}
    for algo in cache.iterdir():
        if algo.name not in ALGORITHMS:  # tmp/, packs/, users/, the lock file
            continue
        for fan in algo.iterdir():
            for obj in fan.iterdir():
                found[f"{algo.name}:{fan.name}{obj.name}"] = obj
    for digest, _kind, _offset, _length, pack in packed_entries(cache):
        found.setdefault(f"xxh128:{digest.hex()}", pack)
    return found


def packed_entries(cache: Path) -> Iterator[tuple[bytes, int, int, int, Path]]:
    """(digest, kind, offset, length, pack) of every entry of every pack index."""
    packs = cache / "packs"
    if not packs.is_dir():
        return
    for idx in sorted(packs.glob("*.idx")):
        data = idx.read_bytes()
        assert data[:8] == b"MLVIDX02" and xxhash.xxh3_128_digest(data[:-16]) == data[-16:], idx
        pack = idx.with_suffix(".pack")
        assert pack.is_file(), f"index {idx.name} without its pack"
        for digest, kind, offset, length in struct.iter_unpack("<16sBQQ", data[16:-16]):
            yield digest, kind, offset, length, pack


def assert_store_consistent(cache: Path) -> dict[str, Path]:
    """No published object whose bytes differ from its id; returns the objects."""
    objects = store_objects(cache) if cache.exists() else {}
    for oid, path in objects.items():
        if path.suffix != ".pack":
            assert str(hash_file(path)) == oid, f"object {oid} does not match its id"
    blobs: dict[bytes, bytes] = {}
    chunked = []
    for digest, kind, offset, length, pack in packed_entries(cache) if cache.exists() else []:
        with open(pack, "rb") as handle:
            handle.seek(offset)
            data = handle.read(length)
        if kind == 0:
            assert xxhash.xxh3_128_digest(data) == digest, f"packed {digest.hex()} is corrupt"
            blobs[digest] = data
        else:
            chunked.append((digest, data))
    for digest, data in chunked:
        whole = xxhash.xxh3_128()
        for chunk, length in struct.iter_unpack("<16sQ", data):
            assert chunk in blobs and len(blobs[chunk]) == length, f"{digest.hex()}: chunk lost"
            whole.update(blobs[chunk])
        assert whole.digest() == digest, f"chunked {digest.hex()} does not match its id"
    return objects


def workspace_files(root: Path) -> dict[str, bytes]:
    """The work tree's files (mlv's and git's own directories excluded)."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not (dirpath == str(root) and d in (".git", ".mlv"))]
        for name in filenames:
            path = Path(dirpath) / name
            found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


def assert_nothing_lost(before: dict[str, bytes], root: Path, cache: Path) -> None:
    """Every file content the work tree held before is still at its path or in the store.

    mlv.lock is left out: git keeps its versions, and the callers check it is old or new.
    """
    from mlv.storage.hashing import hash_bytes

    now = workspace_files(root)
    stored = set(store_objects(cache)) if cache.exists() else set()
    for path, content in before.items():
        if path == "mlv.lock" or now.get(path) == content:
            continue
        assert str(hash_bytes(content)) in stored, f"{path}: its content is gone"
