"""The stat cache: ``.mlv/state.db`` maps (path, inode, size, mtime_ns) to an object id.

A file whose stat fields are unchanged is never read again. Like git's index, an entry is only
trusted when the file's mtime lies clearly before the moment hashing began: a write that lands in
the same timestamp tick as our read would otherwise go unnoticed ("racily clean" files).
Reads and writes are batched: one query per tracked path, one transaction per command.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from mlv.model.ids import ObjectId

# Wider than any local file system's timestamp granularity (coarse clock ticks are ≤ 10 ms; FAT's
# is 2 s): a file modified this close to its hashing is hashed again next time.
RACY_WINDOW_NS = 2_000_000_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS trees (
    path TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    id TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state (
    path TEXT PRIMARY KEY,
    inode INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hashed_ns INTEGER NOT NULL,
    id TEXT NOT NULL
) WITHOUT ROWID;
"""


class StatKey(NamedTuple):
    inode: int
    size: int
    mtime_ns: int


# One cached row: inode, size, mtime_ns, hashed_ns, id. Plain tuples: 10^5 of them per status.
Entry = tuple[int, int, int, int, str]


def now_ns() -> int:
    return time.time_ns()


class StatCache:
    """A persistent map from a file's stat identity to its content id."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._pending: list[tuple[str, int, int, int, int, str]] = []

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            self._db = db
        return self._db

    def load(self, prefix: str) -> dict[str, Entry]:
        """Entries for ``prefix`` and everything below it: path -> (key, hashed_ns, id)."""
        if not self.path.exists():
            return {}
        rows = self._conn().execute(
            "SELECT path, inode, size, mtime_ns, hashed_ns, id FROM state"
            " WHERE path = ? OR (path > ? AND path < ?)",
            (prefix, prefix + "/", prefix + "0"),  # '0' sorts right after '/'
        )
        return {r[0]: r[1:] for r in rows}

    @staticmethod
    def lookup(
        entries: dict[str, Entry], path: str, inode: int, size: int, mtime_ns: int
    ) -> ObjectId | None:
        """The cached id of ``path`` if its stat identity matches and the entry is not racy."""
        entry = entries.get(path)
        if (
            entry is None
            or entry[2] != mtime_ns
            or entry[1] != size
            or entry[0] != inode
            or mtime_ns >= entry[3] - RACY_WINDOW_NS
        ):
            return None
        return ObjectId.trusted(entry[4])

    def record(self, path: str, key: StatKey, oid: ObjectId, hashed_ns: int) -> None:
        """Remember an id computed by reading a file that started at ``hashed_ns``."""
        self._pending.append((path, key.inode, key.size, key.mtime_ns, hashed_ns, str(oid)))

    def tree_id(self, path: str, fingerprint: str) -> ObjectId | None:
        """The tree id of directory ``path`` when its stat fingerprint is the remembered one."""
        if not self.path.exists():
            return None
        row = (
            self._conn()
            .execute("SELECT id FROM trees WHERE path = ? AND fingerprint = ?", (path, fingerprint))
            .fetchone()
        )
        return ObjectId.trusted(row[0]) if row else None

    def record_tree(self, path: str, fingerprint: str, oid: ObjectId) -> None:
        self._conn().execute(
            "INSERT OR REPLACE INTO trees VALUES (?, ?, ?)", (path, fingerprint, str(oid))
        )

    def forget(self, paths: Iterable[str]) -> None:
        if not self.path.exists():
            return
        db = self._conn()
        db.executemany("DELETE FROM state WHERE path = ?", ((p,) for p in paths))

    def flush(self) -> None:
        if not self._pending:
            return
        db = self._conn()
        with db:
            db.execute("BEGIN")
            db.executemany("INSERT OR REPLACE INTO state VALUES (?, ?, ?, ?, ?, ?)", self._pending)
        self._pending.clear()

    def close(self) -> None:
        self.flush()
        if self._db is not None:
            self._db.close()
            self._db = None
