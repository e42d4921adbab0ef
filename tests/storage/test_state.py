import os
import time
from pathlib import Path

from mlv.storage.hashing import hash_bytes
from mlv.storage.state import RACY_WINDOW_NS, StatCache, StatKey


def key_of(path: Path) -> StatKey:
    st = path.stat()
    return StatKey(st.st_ino, st.st_size, st.st_mtime_ns)


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
    assert StatCache.lookup(entries, "data/f", *key_of(f)) == hash_bytes(b"x")
    assert cache.load("dat") == {} and cache.load("data/f") == entries
    f.write_bytes(b"y")  # new mtime and content
    assert StatCache.lookup(entries, "data/f", *key_of(f)) is None


def test_racily_clean_entries_are_not_trusted(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"x")
    cache = StatCache(tmp_path / "state.db")
    # Hashed in the same instant the file was written: a later write could keep the mtime.
    cache.record("f", key_of(f), hash_bytes(b"x"), hashed_ns=key_of(f).mtime_ns)
    cache.flush()
    assert StatCache.lookup(cache.load("f"), "f", *key_of(f)) is None
    later = key_of(f).mtime_ns + RACY_WINDOW_NS + 1  # hashed well after its last write
    cache.record("f", key_of(f), hash_bytes(b"x"), hashed_ns=later)
    cache.flush()
    assert StatCache.lookup(cache.load("f"), "f", *key_of(f)) == hash_bytes(b"x")
