"""Edits mlv must not miss: a file rewritten while snapshot copies it, a same-size edit in place.

Each test makes the edit at an exact moment rather than racing it: a snapshot is frozen at the
store's copy by ``MLV_FAULT=stop-at:`` (mlv SIGSTOPs itself there), and timestamps are set with
``os.utime`` outside the stat cache's racily-clean window.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from mlv.storage.hashing import hash_bytes
from tests.conftest import MlvRunner, write
from tests.crash import assert_store_consistent

CACHE = ".mlv/cache"
BIG = 1536 * 1024  # above the 1 MiB up to which files are read into memory, not copied


def blob(seed: int) -> bytes:
    return random.Random(seed).randbytes(BIG)


def wait_stopped(proc: subprocess.Popen[str], timeout: float = 60) -> None:
    """Until ``proc`` has frozen itself (state T in /proc) at its fault mark."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        state = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "T":
            return
        time.sleep(0.02)
    raise AssertionError("the process never reached its stop mark")


def test_a_large_file_rewritten_while_it_is_copied_is_never_stored_under_the_old_id(
    project: Path, mlv: MlvRunner
) -> None:
    # A hard-linking project stores loose objects, the large ones copied by the kernel unread
    # by mlv (a packed object is stored from the very bytes mlv hashes: tests/storage).
    (project / ".mlv/config.toml").write_text('link = "hardlink"\n')
    big = write(project / "data/big.bin", blob(1))
    write(project / "data/a.csv", "a\n1\n")
    assert mlv("track", "data").code == 0
    assert mlv("snapshot", "-m", "one").code == 0  # the store exists, this tree is registered
    lock = (project / "mlv.lock").read_bytes()
    hashed = blob(2)
    big.write_bytes(hashed)

    # The only new file is big.bin, so the snapshot's first temporary object is its copy:
    # freeze mlv there, after hashing the file and just before the kernel copies it.
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlv", "snapshot", "-m", "two"],
        cwd=project,
        env=dict(os.environ, MLV_FAULT="stop-at:.mlv-tmp"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_stopped(proc)
        copying = [p.name for p in (project / CACHE / "tmp").iterdir()]
        assert copying and all(
            name.startswith(f".{hash_bytes(hashed).digest}") for name in copying
        ), copying  # frozen at the copy of what it hashed
        rewritten = blob(3)
        with open(big, "r+b") as handle:  # in place, same size: only the bytes tell
            handle.write(rewritten)
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    _, err = proc.communicate(timeout=120)

    assert proc.returncode == 1, err
    assert "data/big.bin changed while mlv was reading it" in err
    assert_store_consistent(project / CACHE)  # no object holds bytes other than its id's
    digest = hash_bytes(hashed).digest
    assert not (project / CACHE / "xxh128" / digest[:2] / digest[2:]).exists()
    assert (project / "mlv.lock").read_bytes() == lock
    assert list((project / CACHE / "tmp").iterdir()) == []

    # Once the writer is done, the snapshot records what the file holds.
    assert mlv("snapshot", "-m", "two").code == 0
    assert mlv("checkout", "HEAD~1").code == 0
    assert big.read_bytes() == blob(1)
    assert mlv("checkout", "HEAD").code == 0
    assert big.read_bytes() == rewritten


def states(mlv: MlvRunner) -> dict[str, dict[str, object]]:
    result = mlv("status", "--json")
    assert result.code == 0, result.err
    return {a["path"]: a for a in json.loads(result.out)["artifacts"]}


def test_a_same_size_edit_in_a_tracked_directory_is_seen_by_status_and_snapshot(
    project: Path, mlv: MlvRunner
) -> None:
    """Same inode, same size, same mode: only the mtime differs, and the directory's cached
    tree id must not be trusted then."""
    target = write(project / "data/sub/f1.txt", "row one\n")
    write(project / "data/f0.txt", "row zero\n")
    written = time.time_ns() - 100 * 1_000_000_000  # well before the racily-clean window
    for path in (project / "data").rglob("*.txt"):
        os.utime(path, ns=(written, written))
    assert mlv("track", "data").code == 0
    assert mlv("snapshot", "-m", "one").code == 0
    assert states(mlv)["data"]["state"] == "unchanged"  # from the cached tree id now
    before = target.stat()

    with open(target, "r+b") as handle:
        handle.write(b"ROW")
    edited = written + 50 * 1_000_000_000  # later, yet still outside the window
    os.utime(target, ns=(edited, edited))
    after = target.stat()
    assert (after.st_ino, after.st_size, after.st_mode) == (
        before.st_ino,
        before.st_size,
        before.st_mode,
    )

    status = states(mlv)["data"]
    assert status["state"] == "modified" and status["modified"] == ["sub/f1.txt"]
    assert mlv("status", "--check").code == 1
    assert mlv("snapshot", "-m", "two").code == 0
    assert states(mlv)["data"]["state"] == "unchanged"
    assert mlv("checkout", "HEAD~1").code == 0
    assert target.read_text() == "row one\n"
    assert mlv("checkout", "HEAD").code == 0
    assert target.read_text() == "ROW one\n"
