import os
import sqlite3
import time
from pathlib import Path

from mlv.core.progress import NullProgress
from mlv.core.workspace.scanner import Scanner
from mlv.storage.hashing import hash_bytes
from mlv.storage.state import RACY_WINDOW_NS, Clock, StatCache, StatKey
from tests.conftest import write


def key_of(path: Path) -> StatKey:
    return StatKey.of(path.stat())


def test_entries_survive_reopen_and_match_on_stat_identity(tmp_path: Path) -> None:
    f = tmp_path / "data" / "f"
    f.parent.mkdir()
    f.write_bytes(b"x")
    old = time.time_ns() - 10 * RACY_WINDOW_NS
    os.utime(f, ns=(old, old))
    cache = StatCache(tmp_path / "state.db")
    cache.record("data/f", key_of(f), hash_bytes(b"x"), hashed_ns=time.time_ns())
    cache.close()

    cache = StatCache(tmp_path / "state.db")
    entries = cache.load("data")
    assert StatCache.lookup(entries, "data/f", f.stat()) == hash_bytes(b"x")
    assert cache.load("dat") == {} and cache.load("data/f") == entries
    f.write_bytes(b"y")  # new mtime and content
    assert StatCache.lookup(entries, "data/f", f.stat()) is None


def test_racily_clean_entries_are_not_trusted(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"x")
    cache = StatCache(tmp_path / "state.db")
    # Hashed in the same instant the file was written: a later write could keep the mtime.
    cache.record("f", key_of(f), hash_bytes(b"x"), hashed_ns=key_of(f).mtime_ns)
    cache.flush()
    assert StatCache.lookup(cache.load("f"), "f", f.stat()) is None
    later = key_of(f).mtime_ns + RACY_WINDOW_NS + 1  # hashed well after its last write
    cache.record("f", key_of(f), hash_bytes(b"x"), hashed_ns=later)
    cache.flush()
    assert StatCache.lookup(cache.load("f"), "f", f.stat()) == hash_bytes(b"x")


def test_the_clock_is_the_file_systems_and_an_edit_in_its_tick_is_racy(tmp_path: Path) -> None:
    """A file written after the clock was read never looks older than the reading, at this file
    system's real granularity (a coarse tick lags the wall clock by milliseconds here: the wall
    clock, or a granularity finer than the real one, fails this)."""
    cache = StatCache(tmp_path / ".mlv" / "state.db")
    for i in range(300):
        clock = cache.clock()
        # Stamped after the reading: racy if recorded with it. A new, empty file: Linux gives
        # it the coarse timestamp (a fine one goes to a file whose times were read since its
        # last change), which lags the wall clock here.
        f = tmp_path / f"f{i}"
        os.close(os.open(f, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        st = f.stat()
        stamp = clock.stamp(st.st_dev)
        assert st.st_mtime_ns >= stamp, (i, st.st_mtime_ns, clock)
        cache.record(f.name, key_of(f), hash_bytes(b""), hashed_ns=stamp)
        cache.flush()
        assert StatCache.lookup(cache.load(f.name), f.name, f.stat()) is None
    assert list((tmp_path / ".mlv" / "tmp").iterdir()) == []  # the probes are gone

    # Exactly on the reading: the same tick, racy; one nanosecond before it: trusted.
    stamp = cache.clock().stamp(f.stat().st_dev)
    for mtime, trusted in ((stamp, False), (stamp - 1, True)):
        os.utime(f, ns=(mtime, mtime))
        cache.record(f.name, key_of(f), hash_bytes(b"x"), hashed_ns=stamp)
        cache.flush()
        found = StatCache.lookup(cache.load(f.name), f.name, f.stat())
        assert (found == hash_bytes(b"x")) is trusted


def test_files_older_than_the_clock_are_not_read_again(tmp_path: Path) -> None:
    """Files written a moment (not 2 s) before a scan are trusted by the next one."""
    hashed: list[int] = []

    class Count(NullProgress):
        def start(self, description: str, total: int | None, unit: str = "files") -> None:
            if description == "hashing":
                hashed.append(total or 0)

    for i in range(20):
        write(tmp_path / f"data/f{i}", f"{i}\n")
    cache = StatCache(tmp_path / ".mlv" / "state.db")
    newest = max(p.stat().st_mtime_ns for p in (tmp_path / "data").iterdir())
    while cache.clock().fs_ns <= newest:  # the file system's next tick (ms here; 1 s on some)
        time.sleep(0.001)
    scan = Scanner(tmp_path, cache, progress=Count()).scan("data")
    assert scan is not None
    first = scan.object_id()
    cache.flush()
    assert scan.built.hashed == sum(len(f"{i}\n") for i in range(20))
    again = Scanner(tmp_path, cache, progress=Count()).scan("data")
    assert again is not None
    assert again.object_id() == first
    assert again.built.hashed == 0  # nothing read again: neither the files nor the tree
    assert [f.id for f in again.files] == [f.id for f in scan.files]
    assert hashed == []  # the flat listing came from the stat cache too


def test_a_file_on_another_file_system_falls_back_to_the_wall_clock_window() -> None:
    clock = Clock(dev=1, fs_ns=10 * RACY_WINDOW_NS, wall_ns=11 * RACY_WINDOW_NS)
    assert clock.stamp(1) == 10 * RACY_WINDOW_NS
    assert clock.stamp(2) == 10 * RACY_WINDOW_NS  # the wall clock less the window


def test_an_edit_whose_mtime_was_put_back_is_seen_by_its_ctime(tmp_path: Path) -> None:
    f = write(tmp_path / "f", b"AAAA")
    old = time.time_ns() - 10 * RACY_WINDOW_NS
    os.utime(f, ns=(old, old))
    cache = StatCache(tmp_path / "state.db")
    cache.record("f", key_of(f), hash_bytes(b"AAAA"), hashed_ns=time.time_ns())
    cache.flush()
    assert StatCache.lookup(cache.load("f"), "f", f.stat()) == hash_bytes(b"AAAA")
    time.sleep(0.01)  # a later tick of the ctime
    f.write_bytes(b"BBBB")  # same inode and size
    os.utime(f, ns=(old, old))  # and the mtime put back, as `touch -r` or `cp -p` would
    assert StatCache.lookup(cache.load("f"), "f", f.stat()) is None


def test_a_database_of_an_older_version_is_rebuilt(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "state.db")
    db.executescript(
        "CREATE TABLE state (path TEXT PRIMARY KEY, inode INTEGER NOT NULL, size INTEGER NOT"
        " NULL, mtime_ns INTEGER NOT NULL, hashed_ns INTEGER NOT NULL, id TEXT NOT NULL)"
        " WITHOUT ROWID;"
    )
    db.execute("INSERT INTO state VALUES ('f', 1, 1, 1, 9, ?)", (str(hash_bytes(b"x")),))
    db.commit()
    db.close()
    cache = StatCache(tmp_path / "state.db")
    assert cache.load("f") == {}  # version 1's rows were stamped by the wall clock: dropped
    f = write(tmp_path / "f", b"x")
    cache.record("f", key_of(f), hash_bytes(b"x"), hashed_ns=f.stat().st_mtime_ns + 1)
    cache.close()
    assert StatCache.lookup(StatCache(tmp_path / "state.db").load("f"), "f", f.stat()) == (
        hash_bytes(b"x")
    )
