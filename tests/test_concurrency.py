"""Concurrent commands: two mlv processes on one repository or one shared store.

Both finish, or one waits and then fails with a clear error; the store stays consistent; gc
never deletes an object that a snapshot running elsewhere is about to name in its mlv.lock.
The tests do not race: ``MLV_FAULT=stop-at:SUFFIX`` freezes a process at the first durable step
whose label ends so, the other command runs (and must wait, or succeed beside it), then the first
is resumed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlv.storage.hashing import hash_bytes
from mlv.storage.lock import Busy, exclusive, shared
from tests.conftest import git, make_repo, write
from tests.crash import assert_store_consistent, run_mlv, store_objects, workspace_files

# Freeze a snapshot after its objects are stored, just before mlv.lock is replaced.
BEFORE_LOCK_WRITE = "stop-at:/mlv.lock"


def start_mlv(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    environ = dict(os.environ, **(env or {}))
    return subprocess.Popen(
        [sys.executable, "-m", "mlv", *args],
        cwd=cwd,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


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


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


@pytest.fixture
def many_files(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repo")
    assert run_mlv(repo, "init").returncode == 0
    for i in range(300):
        write(repo / f"data/f{i:03}.bin", os.urandom(2048))
    assert run_mlv(repo, "track", "data").returncode == 0
    return repo


def test_two_snapshots_at_once(many_files: Path, tmp_path: Path) -> None:
    """The fast representative of this file (`make unit` runs it; the rest are slow)."""
    repo = many_files
    # The first is frozen mid-way (objects stored, mlv.lock not yet written): the second must
    # wait for it, not interleave.
    first = start_mlv(repo, "snapshot", "-m", "same", env={"MLV_FAULT": BEFORE_LOCK_WRITE})
    wait_stopped(first)
    waited = run_mlv(repo, "snapshot", "-m", "same", env={"MLV_LOCK_TIMEOUT": "0.3"})
    assert waited.returncode == 1 and "working in this repository" in waited.stderr
    second = start_mlv(repo, "snapshot", "-m", "same")
    time.sleep(0.3)
    assert second.poll() is None  # waiting
    os.kill(first.pid, signal.SIGCONT)
    results = [finish(first), finish(second)]
    assert [code for code, _, _ in results] == [0, 0], results
    assert int(git(repo, "rev-list", "--count", "HEAD")) == 2  # one snapshot commit, not two
    assert git(repo, "status", "--porcelain") == ""
    assert_store_consistent(repo / ".mlv/cache")
    assert run_mlv(repo, "verify").returncode == 0
    assert run_mlv(repo, "status", "--check").returncode == 0


@pytest.mark.slow
def test_a_held_repository_is_a_clear_wait_then_error(many_files: Path) -> None:
    repo = many_files
    with exclusive(repo / ".mlv/lock"):
        started = time.monotonic()
        busy = run_mlv(repo, "snapshot", env={"MLV_LOCK_TIMEOUT": "0.5"})
        waited = time.monotonic() - started
    assert busy.returncode == 1, busy.stderr
    assert f"another mlv process (pid {os.getpid()}) is working in this repository" in busy.stderr
    assert "hint:" in busy.stderr and "MLV_LOCK_TIMEOUT" in busy.stderr
    assert waited >= 0.5  # it waited before giving up
    assert not (repo / "mlv.lock").exists()  # and wrote nothing
    assert run_mlv(repo, "snapshot").returncode == 0  # once free, it works


@pytest.mark.slow
def test_checkout_and_snapshot_at_once(many_files: Path, tmp_path: Path) -> None:
    repo = many_files
    assert run_mlv(repo, "snapshot", "-m", "one").returncode == 0
    one = workspace_files(repo)
    for i in range(0, 300, 3):
        write(repo / f"data/f{i:03}.bin", os.urandom(2048))
    assert run_mlv(repo, "snapshot", "-m", "two").returncode == 0
    two = workspace_files(repo)
    # Checkout frozen after its first step: the snapshot waits, so it never records a half
    # checked-out directory.
    # Frozen as its first data file is about to take its name (the file itself is written).
    checkout = start_mlv(repo, "checkout", "HEAD~1", env={"MLV_FAULT": "stop-at:.bin"})
    wait_stopped(checkout)
    snapshot = start_mlv(repo, "snapshot", "-m", "three")
    time.sleep(0.3)
    assert snapshot.poll() is None  # waiting for the checkout
    os.kill(checkout.pid, signal.SIGCONT)
    assert finish(checkout)[0] == 0 and finish(snapshot)[0] == 0
    assert workspace_files(repo) | {"mlv.lock": b""} == one | {"mlv.lock": b""}
    assert run_mlv(repo, "status", "--check").returncode == 0  # recorded what checkout wrote
    for path, content in workspace_files(repo).items():
        if path != "mlv.lock":
            assert content in (one[path], two[path]), path  # every file whole, one version
    assert_store_consistent(repo / ".mlv/cache")
    assert run_mlv(repo, "verify").returncode == 0  # whatever the lock names is stored


def shared_pair(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Two clones of one project, A and B, both using the store at tmp/cache."""
    cache = tmp_path / "cache"
    a = make_repo(tmp_path / "a")
    assert run_mlv(a, "init", "--cache-dir", str(cache)).returncode == 0
    write(a / "data/base.csv", "id\n1\n")
    assert run_mlv(a, "track", "data").returncode == 0
    assert run_mlv(a, "snapshot", "-m", "base").returncode == 0
    b = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(a), str(b))
    write(b / ".mlv/config.local.toml", f'cache_dir = "{cache}"\n')
    assert run_mlv(b, "checkout").returncode == 0
    return a, b, cache


@pytest.mark.slow
def test_gc_waits_for_a_snapshot_in_another_clone(tmp_path: Path) -> None:
    a, b, cache = shared_pair(tmp_path)
    content = b"only B has this\n"
    write(b / "data/new.csv", content)
    new_id = str(hash_bytes(content))
    # Freeze B's snapshot after its objects are stored, just before mlv.lock names them.
    snapshot = start_mlv(b, "snapshot", "-m", "B", env={"MLV_FAULT": BEFORE_LOCK_WRITE})
    wait_stopped(snapshot)
    assert new_id in store_objects(cache)  # stored, but no mlv.lock names it yet

    busy = run_mlv(a, "gc", env={"MLV_LOCK_TIMEOUT": "0.5"})
    assert busy.returncode == 1, busy.stderr
    assert "is using the object store" in busy.stderr and "hint:" in busy.stderr
    assert new_id in store_objects(cache)

    gc = start_mlv(a, "gc")  # waits for B (default timeout: a minute)
    time.sleep(0.5)
    assert gc.poll() is None
    os.kill(snapshot.pid, signal.SIGCONT)
    assert finish(snapshot)[0] == 0
    code, _, err = finish(gc)
    assert code == 0, err
    assert new_id in store_objects(cache)  # B's mlv.lock names it now: kept
    assert_store_consistent(cache)
    assert run_mlv(b, "verify").returncode == 0
    assert run_mlv(a, "verify").returncode == 0


@pytest.mark.slow
def test_gc_keeps_what_other_work_trees_need_and_forgets_gone_ones(tmp_path: Path) -> None:
    a, b, cache = shared_pair(tmp_path)
    write(b / "data/new.csv", "B's data\n")
    assert run_mlv(b, "snapshot", "-m", "B").returncode == 0
    new_id = str(hash_bytes(b"B's data\n"))
    write(b / "data/new.csv", "B's next data\n")
    assert run_mlv(b, "snapshot", "-m", "B again").returncode == 0
    garbage = run_mlv(a, "gc", "--json")
    assert garbage.returncode == 0, garbage.stderr
    assert new_id in store_objects(cache)  # A never saw it; B's history needs it
    narrowed = run_mlv(a, "gc", "--workspace")  # B's history: kept, no remote holds it
    assert narrowed.returncode == 0 and "no remote holds" in narrowed.stderr, narrowed.stderr
    assert new_id in store_objects(cache)

    # A registered work tree that cannot be read stops gc: deleting its objects would be a guess.
    (b / "mlv.toml").write_text("[[[ not toml")
    stopped = run_mlv(a, "gc")
    assert stopped.returncode == 1 and "shares this store" in stopped.stderr, stopped.stderr
    assert "hint:" in stopped.stderr and new_id in store_objects(cache)

    # A work tree that is gone is forgotten, and then its objects are garbage.
    subprocess.run(["rm", "-rf", str(b)], check=True)
    assert run_mlv(a, "gc").returncode == 0
    assert new_id not in store_objects(cache)
    users = [p.read_text() for p in (cache / "users").iterdir()]
    assert users == [str(a.resolve())]  # A only
    assert run_mlv(a, "verify").returncode == 0


@pytest.mark.slow
def test_gc_stops_when_a_sharing_work_tree_lost_its_declarations(tmp_path: Path) -> None:
    """The work tree is still there but its mlv.toml is not (deleted, or a checkout of a branch
    without it): its objects are not garbage, and gc must not guess that they are."""
    a, b, cache = shared_pair(tmp_path)
    write(b / "data/new.csv", "B's data\n")
    assert run_mlv(b, "snapshot", "-m", "B").returncode == 0
    new_id = str(hash_bytes(b"B's data\n"))
    (b / "mlv.toml").unlink()
    entry = next(p for p in (cache / "users").iterdir() if p.read_text() == str(b.resolve()))
    for args in (("gc",), ("gc", "--workspace", "--force")):
        stopped = run_mlv(a, *args)
        assert stopped.returncode == 1, stopped.stderr
        assert str(b.resolve()) in stopped.stderr and "removed nothing" in stopped.stderr
        assert f"remove {entry}" in stopped.stderr and entry.exists()
        assert new_id in store_objects(cache)


@pytest.mark.slow
def test_two_clones_store_the_same_objects_at_once(tmp_path: Path) -> None:
    a, b, cache = shared_pair(tmp_path)
    payload = {f"data/f{i:03}.bin": os.urandom(4096) for i in range(200)}
    for repo in (a, b):
        for path, content in payload.items():
            write(repo / path, content)
    procs = [start_mlv(repo, "snapshot", "-m", "same data") for repo in (a, b)]
    assert [finish(p)[0] for p in procs] == [0, 0]
    objects = assert_store_consistent(cache)
    assert {str(hash_bytes(c)) for c in payload.values()} <= set(objects)
    assert not [p for p in (cache / "tmp").iterdir() if p.is_file()]
    assert run_mlv(a, "verify").returncode == 0 and run_mlv(b, "verify").returncode == 0


def hold_lock(path: Path, mode: str) -> subprocess.Popen[str]:
    """Another process holding ``path`` (mode "exclusive" or "shared") until it is killed."""
    code = (
        "import sys, time; from pathlib import Path; from mlv.storage import lock; "
        f"cm = lock.{mode}(Path(sys.argv[1])); cm.__enter__(); print('held', flush=True); "
        "time.sleep(600)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


@pytest.mark.slow
def test_shared_lock_lets_readers_in_together(tmp_path: Path) -> None:
    """Many sharers at once (snapshots, checkouts, pushes), one exclusive holder (gc) alone; a
    lock this process holds already is counted, not taken again."""
    lock = tmp_path / "lock"
    other = hold_lock(lock, "shared")
    try:
        with shared(lock, timeout=0.2), shared(lock, timeout=0.2):  # sharers together
            pass
        with (
            pytest.raises(Busy, match="another mlv process is busy"),
            exclusive(lock, timeout=0.2, what="busy", exclusive_only=False),
        ):
            pass
    finally:
        other.kill()
        other.wait()
    other = hold_lock(lock, "exclusive")
    try:
        with pytest.raises(Busy, match=rf"\(pid {other.pid}\)"), shared(lock, timeout=0.2):
            pass
    finally:
        other.kill()
        other.wait()
    with exclusive(lock), exclusive(lock, timeout=0), shared(lock, timeout=0):  # re-entrant
        pass
    with shared(lock), pytest.raises(RuntimeError, match="cannot be upgraded"), exclusive(lock):
        pass


@pytest.mark.slow
def test_gc_keeps_what_a_clone_using_another_clones_store_needs(tmp_path: Path) -> None:
    """B's store is A's own .mlv/cache (set by cache_dir, or only by MLV_CACHE_DIR in B's
    environment): gc on either side keeps what the other needs."""
    a = make_repo(tmp_path / "a")
    assert run_mlv(a, "init").returncode == 0
    write(a / "data/base.csv", "id\n1\n")
    assert run_mlv(a, "track", "data").returncode == 0
    assert run_mlv(a, "snapshot", "-m", "base").returncode == 0
    store = a / ".mlv/cache"
    b = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(a), str(b))
    b_env = {"MLV_CACHE_DIR": str(store)}  # nothing in B's files says so
    assert run_mlv(b, "checkout", env=b_env).returncode == 0
    write(b / "data/b-only.csv", "B\n")
    assert run_mlv(b, "snapshot", "-m", "B", env=b_env).returncode == 0
    write(a / "data/a-only.csv", "A\n")
    assert run_mlv(a, "snapshot", "-m", "A").returncode == 0
    b_only, a_only = str(hash_bytes(b"B\n")), str(hash_bytes(b"A\n"))

    junk = store / "users"
    write(junk / ".half-written.mlv-tmp", "")  # a registration killed mid-write
    (junk / "not-an-entry").mkdir()
    assert run_mlv(a, "gc").returncode == 0
    assert run_mlv(b, "gc", env=b_env).returncode == 0
    assert {a_only, b_only} <= set(store_objects(store))
    assert run_mlv(a, "verify").returncode == 0
    assert run_mlv(b, "verify", env=b_env).returncode == 0


@pytest.mark.slow
def test_gc_in_a_copied_repository_is_not_stopped_by_the_original(tmp_path: Path) -> None:
    """A copy (cp -a) carries the original's users/ entry; the original's new trees were never
    in the copy's store, so there is nothing of them to keep, and gc must not stop on them."""
    a = make_repo(tmp_path / "a")
    assert run_mlv(a, "init").returncode == 0
    write(a / "data/x.csv", "1\n")
    assert run_mlv(a, "track", "data").returncode == 0
    assert run_mlv(a, "snapshot", "-m", "one").returncode == 0
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(a), str(copy)], check=True)
    write(a / "data/y.csv", "2\n")
    assert run_mlv(a, "snapshot", "-m", "two").returncode == 0  # a tree the copy never saw
    done = run_mlv(copy, "gc")
    assert done.returncode == 0, done.stderr
    assert run_mlv(copy, "verify").returncode == 0


@pytest.mark.slow
def test_an_empty_registration_is_written_again(tmp_path: Path) -> None:
    a = make_repo(tmp_path / "a")
    assert run_mlv(a, "init").returncode == 0
    write(a / "data/x.csv", "1\n")
    assert run_mlv(a, "track", "data").returncode == 0
    assert run_mlv(a, "snapshot").returncode == 0
    (entry,) = (a / ".mlv/cache/users").iterdir()
    entry.write_text("")  # as a power cut could leave it
    assert run_mlv(a, "status").returncode == 0  # status does not touch the store
    assert run_mlv(a, "verify").returncode == 0
    assert entry.read_text() == str(a.resolve())


@pytest.mark.slow
def test_post_checkout_hook_moves_on_when_mlv_is_busy(
    many_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlv.core.hooks import checks as hooks
    from mlv.core.project import open_project

    repo = many_files
    assert run_mlv(repo, "snapshot").returncode == 0
    monkeypatch.setattr(hooks, "HOOK_LOCK_TIMEOUT", 0.2)
    holder = hold_lock(repo / ".mlv/lock", "exclusive")
    try:
        project = open_project(repo)
        try:
            outcome = hooks.after_checkout(project)
        finally:
            project.close()
    finally:
        holder.kill()
        holder.wait()
    assert outcome.skipped is not None and "another mlv process" in outcome.skipped


@pytest.mark.slow
def test_checkout_that_waited_for_a_snapshot_restores_what_it_recorded(many_files: Path) -> None:
    """mlv.lock is read under the lock: a checkout queued behind a snapshot restores the new
    manifest, not the one it would have read before waiting (and overwritten the snapshot's
    files with the old versions)."""
    repo = many_files
    assert run_mlv(repo, "snapshot", "-m", "one").returncode == 0
    write(repo / "data/f000.bin", b"edited, then snapshotted")
    snapshot = start_mlv(repo, "snapshot", "-m", "two", env={"MLV_FAULT": BEFORE_LOCK_WRITE})
    wait_stopped(snapshot)
    checkout = start_mlv(repo, "checkout")
    wait_for_open(checkout, repo / ".mlv/lock")  # it waits for the repository lock
    os.kill(snapshot.pid, signal.SIGCONT)
    assert finish(snapshot)[0] == 0
    code, _, err = finish(checkout)
    assert code == 0, err
    assert (repo / "data/f000.bin").read_bytes() == b"edited, then snapshotted"
    assert run_mlv(repo, "status", "--check").returncode == 0


def wait_for_open(proc: subprocess.Popen[str], path: Path, timeout: float = 60) -> None:
    """Until ``proc`` has ``path`` open (a lock it is about to wait for)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        for fd in Path(f"/proc/{proc.pid}/fd").iterdir():
            try:
                if os.readlink(fd) == str(path):
                    return
            except FileNotFoundError:
                continue
        time.sleep(0.01)
    raise AssertionError(f"the process never opened {path}")
