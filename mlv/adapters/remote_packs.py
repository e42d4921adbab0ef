"""Packs on a remote (docs/format.md, "Remotes"): ``<root>/packs/<name>.pack`` and ``.idx``.

A pack is uploaded first and its index last: the index is the commit point, so a reader never
sees a half pack, and an interrupted push leaves an unindexed pack that readers ignore. What a
remote holds is the union of its indexes (one small read each, cached by name: a pack never
changes). An object is read back by byte range (an HTTP Range request on S3, a ``pread`` on a
directory remote), so fetching one small object never downloads its whole pack.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mlv import faults
from mlv.adapters import bucket_marker
from mlv.adapters.dir_remote import raise_format
from mlv.adapters.remote import RemoteError, RemoteStore, translate_errors
from mlv.storage import index_cache
from mlv.storage.entry_table import Entry, EntryTable
from mlv.storage.fsutil import copy_into, fsync_path, write_bytes_atomic
from mlv.storage.pack import IndexEntries, decode_index

_GONE = IndexEntries(b"")  # an index deleted since it was listed


class PackGone(RemoteError):
    """A pack a reader's listing named was deleted meanwhile (``gc --remote`` rewrote it): the
    reader lists the indexes again and finds the objects in the pack that replaced it."""

    def __init__(self, remote: str, pack: str) -> None:
        super().__init__(f"remote {remote}: pack {pack} was removed while it was read")
        self.pack = pack


RemoteEntry = Entry  # where an object is in a remote pack, as for a local one


class RemotePacks:
    """The packs of one remote: which objects they hold, upload, ranged reads."""

    def __init__(self, remote: RemoteStore, cache: Path | None = None, fresh: bool = False) -> None:
        self.remote = remote
        self.dir = f"{remote.root}/packs"
        self.cache = cache  # the local store's copies of remote indexes (``index_cache``)
        self.fresh = fresh  # read every index from the remote (verify); copies only refreshed
        self._indexes: dict[str, IndexEntries] = {}
        self._lock = threading.Lock()
        self.damaged: list[str] = []  # index names refused: checksum, name or size wrong
        self.indexes_read = 0  # from the remote (not from the cache)
        self._marked = False
        self.raised_format = False  # this push marked the remote format 2

    def _names(self) -> dict[str, int]:
        """File names in ``packs/`` and their sizes (regular files only on a directory)."""
        remote = self.remote
        if remote.protocol == "file":
            return remote.regular_files(self.dir)
        try:
            entries = remote.fs.ls(self.dir, detail=True, refresh=True)
        except FileNotFoundError:
            return {}
        return {
            e["name"].rstrip("/").rpartition("/")[2]: int(e.get("size") or 0)
            for e in entries
            if e.get("type") == "file"
        }

    def sizes(self) -> dict[str, int]:
        """Each file in ``packs/`` and its size."""
        with translate_errors(self.remote.name, self.remote.url):
            return self._names()

    def entries(self, jobs: int = 8, relists: int = 3) -> EntryTable:
        """Every object of every indexed pack on the remote (one entry per digest). A pack whose
        index is missing (an interrupted push) or damaged holds nothing, as far as readers go."""
        with translate_errors(self.remote.name, self.remote.url):
            names = self._names()
            stems = sorted(n[: -len(".idx")] for n in names if n.endswith(".idx"))
            new = [s for s in stems if s not in self._indexes and f"{s}.pack" in names]

            def load(stem: str) -> tuple[str, IndexEntries | None]:
                listed = names[f"{stem}.idx"]
                cached = None if self.fresh else index_cache.load(self.cache, stem, listed)
                if cached is not None:
                    return stem, cached
                if listed > index_cache.MAX_INDEX:
                    return stem, None  # no index of a pack this mlv writes is that large
                try:
                    data = self._read_whole(f"{self.dir}/{stem}.idx")
                except FileNotFoundError:  # a gc deleted it since the listing: list again
                    return stem, _GONE
                with self._lock:
                    self.indexes_read += 1
                decoded = index_cache.decode_named(stem, data)
                if decoded is not None:
                    index_cache.store(self.cache, stem, data)
                else:
                    index_cache.forget(self.cache, stem)
                return stem, decoded

            gone = False
            with ThreadPoolExecutor(jobs) as pool:
                for stem, decoded in pool.map(load, new):
                    if decoded is _GONE:
                        gone = True
                    elif decoded is None:
                        self.damaged.append(f"{stem}.idx")
                    else:
                        self._indexes[stem] = decoded
        if gone and relists:  # gc indexes its copies before it deletes an index: a new
            return self.entries(jobs, relists - 1)  # listing has them (still gone: nothing)
        result = EntryTable()
        for stem in stems:
            if stem in self._indexes:
                result.add_pack(stem, self._indexes[stem])
        return result

    def upload(self, pack: Path, index: bytes, name: str) -> None:
        """Upload a finished pack, then its index (the commit point)."""
        remote = self.remote
        final = f"{self.dir}/{name}"
        with translate_errors(remote.name, remote.url):
            self._mark()
            if remote.protocol == "file":
                self._upload_to_directory(pack, index, name)
                return
            faults.write(f"{final}.pack")
            remote.fs.put_file(str(pack), f"{final}.pack")
            faults.step(f"{final}.idx")
            if remote.atomic_put:
                remote.fs.pipe_file(f"{final}.idx", index)
                return
            tmp = f"{remote.root}/tmp/{name}.idx.{uuid.uuid4().hex[:12]}"
            remote.fs.makedirs(f"{remote.root}/tmp", exist_ok=True)
            remote.fs.pipe_file(tmp, index)
            remote.fs.mv(tmp, f"{final}.idx")

    def _mark(self) -> None:
        """Say the remote holds packs (format 2) before the first one lands."""
        if self._marked:
            return
        remote = self.remote
        if remote.protocol == "file":
            self.raised_format = raise_format(remote.name, Path(remote.root), 2)
        else:
            self.raised_format = bucket_marker.raise_format(remote.fs, remote.root, remote.name, 2)
        self._marked = True

    def _upload_to_directory(self, pack: Path, index: bytes, name: str) -> None:
        remote = self.remote
        root = Path(remote.root)
        final = f"{self.dir}/{name}"
        remote.check_no_links(f"{final}.pack")
        remote.check_no_links(f"{remote.root}/tmp/-")
        remote.make_dirs(f"{remote.root}/tmp")
        remote.make_dirs(self.dir)
        tmp = f"{remote.root}/tmp/{name}.pack.{uuid.uuid4().hex[:12]}"
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            fd = os.open(tmp, flags, 0o444)
            try:
                copy_into(pack, fd, tmp)  # its fault mark falls halfway through
                os.fsync(fd)
            finally:
                os.close(fd)
            faults.step(f"{final}.pack")
            os.replace(tmp, f"{final}.pack")
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        # The index last, durable, and only once the pack's name is durable too.
        fsync_path(self.dir, directory=True)
        write_bytes_atomic(Path(f"{final}.idx"), index, mode=0o444, tmp_dir=root / "tmp")
        fsync_path(self.dir, directory=True)

    def read(self, entry: RemoteEntry) -> bytes:
        """The stored bytes of one object, by byte range (unverified: the caller hashes them)."""
        return self.read_range(entry.pack, entry.offset, entry.length)

    def read_range(self, pack: str, offset: int, length: int) -> bytes:
        path = f"{self.dir}/{pack}.pack"
        remote = self.remote
        with translate_errors(remote.name, remote.url):
            try:
                if remote.protocol != "file":
                    data: bytes = remote.fs.cat_file(path, start=offset, end=offset + length)
                    return data
                return self._pread(path, offset, length)
            except FileNotFoundError:
                raise PackGone(remote.name, pack) from None

    def index_of(self, stem: str) -> IndexEntries | None:
        """The entries of one pack's index (None: damaged), read once per name."""
        if stem not in self._indexes:
            with translate_errors(self.remote.name, self.remote.url):
                decoded = decode_index(self._read_whole(f"{self.dir}/{stem}.idx"))
            if decoded is None:
                return None
            self._indexes[stem] = decoded
        return self._indexes[stem]

    def ages(self) -> dict[str, float]:
        """Each file in ``packs/`` and when it was last modified (seconds since the epoch)."""
        remote = self.remote
        with translate_errors(remote.name, remote.url):
            if remote.protocol == "file":
                remote.check_no_links(f"{self.dir}/-")
                try:
                    with os.scandir(self.dir) as found:
                        return {
                            e.name: e.stat(follow_symlinks=False).st_mtime
                            for e in found
                            if e.is_file(follow_symlinks=False)
                        }
                except FileNotFoundError:
                    return {}
            try:
                entries = remote.fs.ls(self.dir, detail=True, refresh=True)
            except FileNotFoundError:
                return {}
        return {
            e["name"].rstrip("/").rpartition("/")[2]: _modified(e)
            for e in entries
            if e.get("type") == "file"
        }

    def keep(self, stems: set[str]) -> None:
        """Mark packs as just relied on (``<stem>.keep``, the time): a push that found objects
        there sends nothing for them, so ``gc --remote`` must count those packs as young."""
        remote = self.remote
        with translate_errors(remote.name, remote.url):
            for stem in sorted(stems):
                path = f"{self.dir}/{stem}.keep"
                faults.step(path)
                data = f"{time.time():.0f}\n".encode()
                if remote.protocol == "file":
                    remote.check_no_links(path)
                    tmp_dir = Path(remote.root) / "tmp"
                    remote.make_dirs(str(tmp_dir))
                    write_bytes_atomic(Path(path), data, mode=0o444, tmp_dir=tmp_dir)
                else:
                    remote.fs.pipe_file(path, data)

    def delete(self, name: str) -> None:
        """Delete one file of ``packs/`` (gone already is fine), durably on a directory."""
        remote = self.remote
        path = f"{self.dir}/{name}"
        faults.step(path)
        with translate_errors(remote.name, remote.url):
            if remote.protocol == "file":
                remote.check_no_links(path)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                fsync_path(self.dir, directory=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    remote.fs.rm_file(path)
        self._indexes.pop(name.rpartition(".")[0], None)

    def _read_whole(self, path: str) -> bytes:
        if self.remote.protocol != "file":
            data: bytes = self.remote.fs.cat_file(path)
            return data
        return self._pread(path, 0, None)

    def _pread(self, path: str, offset: int, length: int | None) -> bytes:
        """Read a regular file of a directory remote, never through a link (nor a FIFO)."""
        remote = self.remote
        remote.check_no_links(path)
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(path, flags)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            raise remote.not_regular(path) from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise remote.not_regular(path)
            return os.pread(fd, info.st_size if length is None else length, offset)
        finally:
            os.close(fd)


def _modified(entry: dict[str, object]) -> float:
    """An object store listing's modification time (s3fs: ``LastModified``, a datetime)."""
    stamp = entry.get("LastModified") or entry.get("mtime") or entry.get("updated")
    if hasattr(stamp, "timestamp"):
        return float(stamp.timestamp())
    if isinstance(stamp, (int, float)):
        return float(stamp)
    return time.time()  # unknown: counted as new, so the grace period spares it
