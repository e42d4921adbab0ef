"""Full disk and I/O errors: a clear one-line error, no partial object, and a retry that works.

Two ways to fail a write: ``MLV_FAULT=enospc@k`` / ``eio@k`` makes mlv's k-th data write raise
(every write of a command is tried in turn), and a real, small tmpfs that fills up (where this
machine lets the tests mount one).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlv import faults
from tests.conftest import MlvRunner, tree_snapshot, write
from tests.crash import assert_store_consistent, workspace_files

CACHE = ".mlv/cache"


@pytest.fixture
def inject(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Set MLV_FAULT for the in-process runner (None clears it)."""

    def set_fault(spec: str | None) -> None:
        if spec is None:
            monkeypatch.delenv(faults.ENV, raising=False)
        else:
            monkeypatch.setenv(faults.ENV, spec)
        faults.reload()

    yield set_fault
    set_fault(None)


def leftovers(root: Path) -> list[str]:
    """Temporary files a failed command left behind (in the store, in .mlv/tmp, anywhere)."""
    return [str(p.relative_to(root)) for p in root.rglob("*.mlv-tmp") if ".git" not in p.parts]


def prepare(project: Path, mlv: MlvRunner) -> None:
    for i in range(3):
        write(project / f"data/f{i}.csv", f"a,b\n{i},{i}\n")
    write(project / "data/big.bin", os.urandom(3 * 1024 * 1024))
    write(project / "model.bin", os.urandom(2048))
    assert mlv("track", "data").code == 0
    assert mlv("track", "model.bin", "--kind", "model").code == 0


@pytest.mark.parametrize("error", ["enospc", "eio"])
def test_snapshot_write_errors(
    project: Path, mlv: MlvRunner, inject: object, tmp_path: Path, error: str
) -> None:
    prepare(project, mlv)
    log = tmp_path / "marks.log"
    inject(f"count:{log}")  # type: ignore[operator]
    # Count on a real run that we then undo: every object and mlv.lock written once.
    assert mlv("snapshot", "--no-commit").code == 0
    writes = sum(" write " in line for line in log.read_text().splitlines())
    assert writes >= 6  # 5 files, the tree, lockfile/patch objects, mlv.lock
    inject(None)
    for k in range(1, writes + 1):
        # Start each attempt from an empty store and no manifest.
        subprocess.run(["rm", "-rf", str(project / CACHE), str(project / "mlv.lock")], check=True)
        (project / ".mlv/state.db").unlink(missing_ok=True)
        inject(f"{error}@{k}")  # type: ignore[operator]
        failed = mlv("snapshot", "--no-commit")
        inject(None)  # type: ignore[operator]
        assert failed.code == 3, (k, failed.err)
        lines = failed.err.strip().splitlines()
        assert lines[0].startswith("error: ") and lines[1].startswith("hint: ")
        assert ("No space left" if error == "enospc" else "Input/output error") in lines[0]
        assert "Traceback" not in failed.err
        assert_store_consistent(project / CACHE)
        assert leftovers(project) == [], k
        assert not (project / "mlv.lock").exists(), k  # no manifest naming objects not stored
        retry = mlv("snapshot", "--no-commit")
        assert retry.code == 0, (k, retry.err)
        assert mlv("verify").code == 0


def test_checkout_write_error_leaves_whole_files(
    project: Path, mlv: MlvRunner, inject: object
) -> None:
    prepare(project, mlv)
    assert mlv("snapshot", "-m", "one").code == 0
    one = workspace_files(project)
    write(project / "data/f0.csv", "changed\n")
    write(project / "data/big.bin", os.urandom(2 * 1024 * 1024))
    (project / "data/f1.csv").unlink()
    assert mlv("snapshot", "-m", "two").code == 0
    two = workspace_files(project)
    for k in (1, 2, 3):
        inject(f"enospc@{k}")  # type: ignore[operator]
        failed = mlv("checkout", "HEAD~1")
        inject(None)  # type: ignore[operator]
        assert failed.code == 3 and "No space left" in failed.err, (k, failed.err)
        for path, content in workspace_files(project).items():
            assert content in (one.get(path), two.get(path)), (k, path)
        assert leftovers(project) == []
        assert mlv("checkout", "HEAD").code == 0  # back to two for the next round
        assert workspace_files(project) == two
    assert mlv("checkout", "HEAD~1").code == 0
    assert workspace_files(project) | {"mlv.lock": b""} == one | {"mlv.lock": b""}  # lock stays


def test_pull_io_error_keeps_the_store_clean(
    project: Path, mlv: MlvRunner, inject: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare(project, mlv)
    assert mlv("remote", "add", "origin", str(tmp_path / "remote")).code == 0
    assert mlv("snapshot", "-m", "one").code == 0
    assert mlv("push").code == 0
    expected = tree_snapshot(project / "data")
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(project), str(other)], check=True)
    monkeypatch.chdir(other)
    for k in (1, 3, 5):
        inject(f"eio@{k}")  # type: ignore[operator]
        failed = mlv("pull")
        inject(None)  # type: ignore[operator]
        assert failed.code == 3, (k, failed.err)  # the local disk's failure, not the remote's
        assert "Input/output error" in failed.err and "Traceback" not in failed.err
        assert "I/O error: check it" in failed.err and ".mlv-tmp" not in failed.err
        assert_store_consistent(other / CACHE)
        assert leftovers(other) == []
    assert mlv("pull").code == 0
    assert tree_snapshot(other / "data") == expected


@contextlib.contextmanager
def small_filesystem(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_real_full_disk_then_retry(project: Path, mlv: MlvRunner, tmp_path: Path) -> None:
    """The store on an 8 MiB file system that another file has nearly filled: a 4 MiB artifact
    does not fit, nothing partial stays, and once space is freed the same command succeeds."""
    with small_filesystem(tmp_path / "small", "8m") as small:
        cache = small / "cache"
        (project / ".mlv/config.local.toml").write_text(f'cache_dir = "{cache}"\n')
        filler = write(small / "filler", b"\0" * (6 * 1024 * 1024))
        write(project / "data/small.csv", "a\n1\n")
        write(project / "data/big.bin", os.urandom(4 * 1024 * 1024))
        assert mlv("track", "data").code == 0
        failed = mlv("snapshot", "-m", "too big")
        assert failed.code == 3, failed.err
        assert "No space left on device" in failed.err and "hint:" in failed.err
        assert "Traceback" not in failed.err
        assert_store_consistent(cache)
        assert leftovers(small) == [] and leftovers(project) == []
        assert not (project / "mlv.lock").exists()
        filler.unlink()  # space is freed
        retry = mlv("snapshot", "-m", "fits")
        assert retry.code == 0, retry.err
        assert mlv("verify").code == 0
        assert mlv("status", "--check").code == 0


def nearly_full(small: Path, room: int) -> Path:
    """Fill the small file system but for about ``room`` bytes (tmpfs counts whole pages)."""
    total = os.statvfs(small).f_frsize * os.statvfs(small).f_bavail
    return write(small / "filler", b"\0" * (total - room))


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_a_short_write_on_a_nearly_full_disk_is_no_object(
    project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    """A disk with 12 KiB free takes 12 KiB of a 64 KiB write and refuses the next: the object
    is not stored from the part that fitted (its id would name bytes it does not hold)."""
    with small_filesystem(tmp_path / "small", "1m") as small:
        cache = small / "cache"
        (project / ".mlv/config.local.toml").write_text(f'cache_dir = "{cache}"\n')
        write(project / "data/a.bin", os.urandom(64 * 1024))
        assert mlv("track", "data").code == 0
        (cache / "xxh128").mkdir(parents=True)  # the store's directories exist already
        filler = nearly_full(small, 12 * 1024)
        failed = mlv("snapshot", "-m", "too big")
        assert failed.code == 3 and "No space left on device" in failed.err, failed.err
        assert_store_consistent(cache)
        assert leftovers(small) == [] and leftovers(project) == []
        filler.unlink()
        assert mlv("snapshot", "-m", "fits").code == 0
        assert mlv("verify").code == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_a_short_write_in_checkout_leaves_no_partial_file(
    project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    """The work tree's disk nearly full: checkout fails and places no file cut short."""
    write(project / "data/a.bin", os.urandom(64 * 1024))
    assert mlv("track", "data/a.bin").code == 0
    assert mlv("snapshot", "-m", "one").code == 0
    content = (project / "data/a.bin").read_bytes()
    (project / "data/a.bin").unlink()
    with small_filesystem(project / "data", "1m") as small:
        filler = nearly_full(small, 12 * 1024)
        failed = mlv("checkout")
        assert failed.code == 3 and "No space left on device" in failed.err, failed.err
        assert not (small / "a.bin").exists()
        assert leftovers(small) == [] and leftovers(project) == []
        filler.unlink()
        assert mlv("checkout").code == 0
        assert (small / "a.bin").read_bytes() == content


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_a_read_only_shared_store_still_serves_checkouts(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A team cache mounted read-only: checkout from it works (no lock file or registration
    can be written there, and none is needed); adding to it is a clear error."""
    with small_filesystem(tmp_path / "ro", "16m") as mount:
        cache = mount / "cache"
        (project / ".mlv/config.local.toml").write_text(f'cache_dir = "{cache}"\n')
        write(project / "data/a.csv", "a\n1\n")
        assert mlv("track", "data").code == 0
        assert mlv("snapshot", "-m", "one").code == 0
        (cache / "lock").unlink()  # as if the cache had been filled elsewhere
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        (project / "data/a.csv").unlink()
        restored = mlv("checkout")
        assert restored.code == 0, restored.err
        assert (project / "data/a.csv").read_text() == "a\n1\n"
        write(project / "data/b.csv", "b\n")
        refused = mlv("snapshot", "-m", "two")
        assert refused.code == 3 and "Read-only file system" in refused.err, refused.err
        assert "read-only" in refused.err.split("hint:")[1]
