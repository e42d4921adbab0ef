"""The stat cache: ``.mlv/state.db`` maps (path, inode, size, mtime_ns, ctime_ns) to an object id.

A file whose stat fields are unchanged is never read again (the ctime, which no program can set,
catches an edit whose mtime was put back). Like git's index, an entry is only
trusted when the file's mtime lies before the moment hashing began, read from the file system's
own clock (``StatCache.clock``): a write that lands in the same timestamp tick as our read would
otherwise go unnoticed ("racily clean" files). Reads and writes are batched: one query per
tracked path, one transaction per command.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from mlv.model.ids import ObjectId
from mlv.storage.fsutil import temp_name

# Where the file system's clock cannot be read (a file on another file system than .mlv/, a
# read-only .mlv/), a file modified within this window of its hashing is hashed again next time:
# wider than any local file system's timestamp granularity (coarse clock ticks are ≤ 10 ms; FAT's
# is 2 s).
RACY_WINDOW_NS = 2_000_000_000
_FLUSH_EVERY = 20_000  # pending stat cache entries written at once

# Bumped when the meaning of a stored column changes; an older database is migrated on open.
# 2: ``hashed_ns`` is a time of the file system's clock, and an entry is racy when the file's
#    mtime is at or after it (1: the wall clock, racy within RACY_WINDOW_NS of it); the stat
#    identity holds the ctime. Older entries are dropped (they are re-made by reading the files).
# 3: ``dirs`` holds one record per directory of a tracked directory (format 2 tree levels), and
#    ``trees`` maps a format 2 tree to the format 1 tree of the same content. Both are rebuilt.
SCHEMA_VERSION = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS trees (
    path TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    id TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dirs (
    path TEXT NOT NULL,
    dir TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    subs TEXT NOT NULL,
    id TEXT NOT NULL,
    files INTEGER NOT NULL,
    size INTEGER NOT NULL,
    level BLOB,
    PRIMARY KEY (path, dir)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS verified (
    id TEXT PRIMARY KEY,
    dev INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    nlink INTEGER NOT NULL,
    checked_ns INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state (
    path TEXT PRIMARY KEY,
    inode INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    hashed_ns INTEGER NOT NULL,
    id TEXT NOT NULL
) WITHOUT ROWID;
"""


class StatKey(NamedTuple):
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> StatKey:
        return cls(st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


# One cached row: inode, size, mtime_ns, ctime_ns, hashed_ns, id. Plain tuples: 10^5 of them
# per status.
Entry = tuple[int, int, int, int, int, str]


class DirRecord(NamedTuple):
    """One directory of a tracked directory as last scanned: the fingerprint of its own files'
    stat identities ('' when they may not stand for their content), one of its subdirectories'
    entries, the id of its level, and the files and bytes below it."""

    fingerprint: str
    subs: str
    id: ObjectId
    files: int
    size: int
    # Made by a snapshot, which stored the level after its files (a status keeps the level's
    # bytes in the record instead). Only such a record may stand for a stored subtree: a level
    # can reach the store before its files (an interrupted pull fetches levels first).
    stored: bool = True


# A record to write: dir, fingerprint, subs, level id, files, bytes, level bytes (None when the
# level is in the store).
DirRow = tuple[str, str, str, ObjectId, int, int, bytes | None]
# A verified store object: dev, inode, size, mtime_ns, ctime_ns, nlink, checked_ns.
Proofs = dict[str, tuple[int, int, int, int, int, int, int]]


class Clock(NamedTuple):
    """The stat cache's "now", read before files are read: the modification time the file
    system gives a file created at this moment (on ``dev``), and the wall clock beside it.

    A file system stamps files with a coarse clock (a kernel tick, 1 s, 2 s on FAT) that can lag
    the wall clock: comparing mtimes against ``time.time_ns()`` would trust a file edited in the
    tick we read it in. Like git (which compares against its index file's own mtime), mlv
    compares against a timestamp of the same file system, at its real granularity.
    """

    dev: int
    fs_ns: int
    wall_ns: int

    def stamp(self, dev: int) -> int:
        """The ``hashed_ns`` to record for a file on ``dev``: files whose mtime is at or after it
        are racy. For a file on another file system, the wall clock less RACY_WINDOW_NS."""
        return self.fs_ns if dev == self.dev else self.wall_ns - RACY_WINDOW_NS


def now_ns() -> int:
    """A conservative ``hashed_ns`` from the wall clock alone (racy within RACY_WINDOW_NS), for
    callers without a ``Clock``."""
    return time.time_ns() - RACY_WINDOW_NS


class StatCache:
    """A persistent map from a file's stat identity to its content id."""

    def __init__(self, path: Path, clock_dir: Path | None = None) -> None:
        self.path = path
        # Where ``clock`` creates its probe files (mlv's scratch directory beside the database).
        self.clock_dir = clock_dir or path.parent / "tmp"
        self._db: sqlite3.Connection | None = None
        self._pending: list[tuple[str, int, int, int, int, int, str]] = []
        self._proofs: list[tuple[str, int, int, int, int, int, int, int]] = []

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            if db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                _migrate(db)
            self._db = db
        return self._db

    def clock(self) -> Clock:
        """The file system's time now (see ``Clock``): the mtime of a file created in .mlv/tmp."""
        wall = time.time_ns()
        tmp = self.clock_dir
        probe = temp_name(tmp, "clock")
        try:
            tmp.mkdir(parents=True, exist_ok=True)
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                st = os.fstat(fd)
            finally:
                os.close(fd)
                os.unlink(probe)
        except OSError:  # a read-only .mlv/: every file is compared with the wall clock
            return Clock(-1, wall - RACY_WINDOW_NS, wall)
        return Clock(st.st_dev, st.st_mtime_ns, wall)

    def load(self, prefix: str) -> dict[str, Entry]:
        """Entries for ``prefix`` and everything below it: path -> (key, hashed_ns, id)."""
        if not self.path.exists():
            return {}
        rows = self._conn().execute(
            "SELECT path, inode, size, mtime_ns, ctime_ns, hashed_ns, id FROM state"
            " WHERE path = ? OR (path > ? AND path < ?)",
            (prefix, prefix + "/", prefix + "0"),  # '0' sorts right after '/'
        )
        return {r[0]: r[1:] for r in rows}

    def load_paths(self, paths: list[str]) -> dict[str, Entry]:
        """Entries for exactly ``paths`` (a few, where ``load`` would read a whole directory)."""
        if not self.path.exists():
            return {}
        db = self._conn()
        found: dict[str, Entry] = {}
        for start in range(0, len(paths), 500):
            part = paths[start : start + 500]
            rows = db.execute(
                "SELECT path, inode, size, mtime_ns, ctime_ns, hashed_ns, id FROM state"
                f" WHERE path IN ({', '.join('?' * len(part))})",
                part,
            )
            found.update((r[0], r[1:]) for r in rows)
        return found

    @staticmethod
    def lookup(entries: dict[str, Entry], path: str, st: os.stat_result) -> ObjectId | None:
        """The cached id of ``path`` if its stat identity matches and the entry is not racy."""
        entry = entries.get(path)
        if (
            entry is None
            or entry[2] != st.st_mtime_ns
            or entry[3] != st.st_ctime_ns
            or entry[1] != st.st_size
            or entry[0] != st.st_ino
            or st.st_mtime_ns >= entry[4]
        ):
            return None
        return ObjectId.trusted(entry[5])

    @staticmethod
    def lookup_key(
        entries: dict[str, Entry], path: str, inode: int, size: int, mtime_ns: int, ctime_ns: int
    ) -> ObjectId | None:
        """``lookup`` from the stat fields themselves (no ``os.stat_result`` kept)."""
        entry = entries.get(path)
        if (
            entry is None
            or entry[2] != mtime_ns
            or entry[3] != ctime_ns
            or entry[1] != size
            or entry[0] != inode
            or mtime_ns >= entry[4]
        ):
            return None
        return ObjectId.trusted(entry[5])

    def record(self, path: str, key: StatKey, oid: ObjectId, hashed_ns: int) -> None:
        """Remember an id computed by reading a file that started at ``hashed_ns`` (a
        ``Clock.stamp``, or ``now_ns()``). Written in batches of ``_FLUSH_EVERY`` (each a
        transaction), so a scan of 10^7 new files does not hold them all."""
        self._pending.append((path, *key, hashed_ns, str(oid)))
        if len(self._pending) >= _FLUSH_EVERY:
            self.flush()

    def tree_id(self, path: str, fingerprint: str) -> ObjectId | None:
        """The tree id remembered for ``path`` under ``fingerprint`` (see ``record_tree``)."""
        if not self.path.exists():
            return None
        row = (
            self._conn()
            .execute("SELECT id FROM trees WHERE path = ? AND fingerprint = ?", (path, fingerprint))
            .fetchone()
        )
        return ObjectId.trusted(row[0]) if row else None

    def record_tree(self, path: str, fingerprint: str, oid: ObjectId) -> None:
        """Remember ``oid`` for ``path`` under ``fingerprint`` (one per path): the format 1 tree
        whose content equals a format 2 tree, keyed by the latter's id."""
        self._conn().execute(
            "INSERT OR REPLACE INTO trees VALUES (?, ?, ?)", (path, fingerprint, str(oid))
        )

    def dir_records(self, path: str) -> dict[str, DirRecord]:
        """Per directory of tracked directory ``path`` ('' for its top): what was found there
        last (``DirRecord``); the level bytes are read apart (``dir_level``)."""
        if not self.path.exists():
            return {}
        rows = self._conn().execute(
            "SELECT dir, fingerprint, subs, id, files, size, level IS NULL"
            " FROM dirs WHERE path = ?",
            (path,),
        )
        return {
            r[0]: DirRecord(r[1], r[2], ObjectId.trusted(r[3]), r[4], r[5], bool(r[6]))
            for r in rows
        }

    def dir_level(self, path: str, d: str, oid: ObjectId) -> bytes | None:
        """The bytes of level ``oid`` of directory ``d`` when its record keeps them (a level
        made without a store to put it in)."""
        if not self.path.exists():
            return None
        row = (
            self._conn()
            .execute(
                "SELECT level FROM dirs WHERE path = ? AND dir = ? AND id = ?", (path, d, str(oid))
            )
            .fetchone()
        )
        return None if row is None else row[0]

    def record_dirs(self, path: str, rows: Iterable[DirRow], gone: Iterable[str] = ()) -> None:
        """Remember directories of tracked directory ``path`` and forget those ``gone``, in one
        transaction."""
        db = self._conn()
        with db:
            db.execute("BEGIN")
            db.executemany("DELETE FROM dirs WHERE path = ? AND dir = ?", ((path, d) for d in gone))
            db.executemany(
                "INSERT OR REPLACE INTO dirs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (path, d, fp, subs, str(oid), n, size, blob)
                    for d, fp, subs, oid, n, size, blob in rows
                ),
            )

    def proofs(self) -> Proofs:
        """Loose store objects known intact, by id: the stat identity each had when its bytes
        were last found to hash to its id (see ``proven``)."""
        if not self.path.exists():
            return {}
        rows = self._conn().execute("SELECT * FROM verified")
        return {r[0]: r[1:] for r in rows}

    @staticmethod
    def proven(proofs: Proofs, oid: ObjectId, st: os.stat_result) -> bool:
        """True when the object file with stat ``st`` is one already verified: the same file
        (device, inode), its content unchanged since (size and mtime; not racily so: the mtime
        lies before the check began), and its ctime too — which a write, a ``utime`` putting an
        edited file's mtime back, or a chmod moves — unless its link count changed (a hard-linked
        work-tree file was removed or added, which moves the ctime alone). docs/decisions.md."""
        proof = proofs.get(str(oid))
        return (
            proof is not None
            and proof[:4] == _identity(st)
            and st.st_mtime_ns < proof[6]
            and (proof[4] == st.st_ctime_ns or proof[5] != st.st_nlink)
        )

    def record_proof(self, oid: ObjectId, st: os.stat_result, checked_ns: int) -> None:
        """Remember that the object file with stat ``st`` hashed to ``oid``, checked from
        ``checked_ns`` (a ``Clock.stamp``) on."""
        self._proofs.append((str(oid), *_identity(st), st.st_ctime_ns, st.st_nlink, checked_ns))

    def forget(self, paths: Iterable[str]) -> None:
        if not self.path.exists():
            return
        db = self._conn()
        db.executemany("DELETE FROM state WHERE path = ?", ((p,) for p in paths))

    def flush(self) -> None:
        if not self._pending and not self._proofs:
            return
        db = self._conn()
        with db:
            db.execute("BEGIN")
            db.executemany(
                "INSERT OR REPLACE INTO state VALUES (?, ?, ?, ?, ?, ?, ?)", self._pending
            )
            db.executemany(
                "INSERT OR REPLACE INTO verified VALUES (?, ?, ?, ?, ?, ?, ?, ?)", self._proofs
            )
        self._pending.clear()
        self._proofs.clear()

    def close(self) -> None:
        self.flush()
        if self._db is not None:
            self._db.close()
            self._db = None


def _migrate(db: sqlite3.Connection) -> None:
    """Bring an older database to SCHEMA_VERSION (under a write lock: two processes may open
    it at once)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version < SCHEMA_VERSION:
            if version < 2:
                db.execute("DROP TABLE IF EXISTS state")
            if version < 3:
                db.execute("DROP TABLE IF EXISTS trees")
                db.execute("DROP TABLE IF EXISTS dirs")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns
