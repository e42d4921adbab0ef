"""The content-addressed object store.

Layout: ``<root>/<algorithm>/<first two hex>/<remaining hex>``. Objects are written to
``<root>/tmp`` first and renamed into place only once complete and verified, so a reader never
sees a partial object and the store is safe to share between processes without a global lock.
Objects are read-only on disk.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from mlv.errors import CheckFailed, CorruptObject, MissingObjects, MlvError
from mlv.model.ids import ObjectId
from mlv.storage.fsutil import copy_into, temp_name
from mlv.storage.hashing import hash_bytes, hash_file

OBJECT_MODE = 0o444


class FileChanged(CheckFailed):
    def __init__(self, path: str) -> None:
        super().__init__(
            f"{path} changed while mlv was reading it",
            "let the program writing it finish, then run the command again",
        )


class ObjectStore:
    """Immutable objects addressed by their content id."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, oid: ObjectId) -> Path:
        return self.root / oid.algorithm / oid.digest[:2] / oid.digest[2:]

    def exists(self, oid: ObjectId) -> bool:
        return self.path_of(oid).is_file()

    def _tmp_dir(self) -> Path:
        tmp = self.root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp

    def _publish(self, tmp: Path, oid: ObjectId) -> None:
        """Move a complete, verified temporary file to its final name (read-only)."""
        final = self.path_of(oid)
        os.chmod(tmp, OBJECT_MODE)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            # Another process published the same bytes first; ours is redundant.
            tmp.unlink()
            return
        os.replace(tmp, final)

    def add_file(self, src: Path, expected: ObjectId, display: str | None = None) -> None:
        """Store a copy of ``src`` whose content must hash to ``expected``."""
        tmp = temp_name(self._tmp_dir(), expected.digest)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                copy_into(src, fd)
            finally:
                os.close(fd)
            # Hash the copy, not the source: what is stored is exactly what the id says even if
            # the source is being rewritten right now.
            if hash_file(tmp) != expected:
                raise FileChanged(display or str(src))
            self._publish(tmp, expected)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise

    def add_bytes(self, data: bytes) -> ObjectId:
        oid = hash_bytes(data)
        if self.exists(oid):
            return oid
        tmp = temp_name(self._tmp_dir(), oid.digest)
        try:
            with open(tmp, "xb") as handle:
                handle.write(data)
            self._publish(tmp, oid)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        return oid

    def read_bytes(self, oid: ObjectId) -> bytes:
        """The object's bytes, verified against its id (used for small objects: trees, patches)."""
        path = self.path_of(oid)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise MissingObjects([str(oid)]) from None
        if hash_bytes(data) != oid:
            raise CorruptObject(str(oid), str(path))
        return data

    def verify(self, oid: ObjectId) -> bool:
        """Re-hash the stored object; False when its bytes no longer match its id."""
        return hash_file(self.path_of(oid)) == oid

    def missing(self, oids: set[ObjectId]) -> set[ObjectId]:
        return {oid for oid in oids if not self.exists(oid)}

    def iter_ids(self) -> Iterator[ObjectId]:
        for algo_dir in sorted(p for p in self.root.iterdir() if p.is_dir() and p.name != "tmp"):
            for fan in sorted(algo_dir.iterdir()):
                for obj in sorted(fan.iterdir()):
                    with contextlib.suppress(MlvError):
                        yield ObjectId(algo_dir.name, fan.name + obj.name)
