"""Remote object stores on any fsspec filesystem (a directory, S3, GCS, Azure, SSH, ...).

The layout mirrors the local store: ``<root>/<algorithm>/<2 hex>/<30 hex>``. An object becomes
visible under its final name only once complete: object stores (S3, GCS, Azure) publish a PUT
atomically; on file-like filesystems the upload goes to ``<root>/tmp/`` and is renamed. fsspec,
and the backend package (s3fs, gcsfs, ...), are imported only when a remote is used.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mlv import faults
from mlv.adapters.bucket_marker import read_format
from mlv.adapters.dir_remote import Initialised, check_root, init_root

# Re-exported: callers import them from here, as before the split.
from mlv.adapters.remote_errors import RemoteError as RemoteError
from mlv.adapters.remote_errors import translate_errors as translate_errors
from mlv.errors import PathError, UsageError
from mlv.model.ids import ObjectId
from mlv.model.remotes import RemoteDecl
from mlv.storage.fsutil import check_no_symlink_parents, sync_names

# Backends whose PUT is atomic: a partial upload is never visible under the final key.
ATOMIC_PUT = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "memory"}
# Object stores whose URL starts with a bucket (or container) that must exist beforehand.
BUCKETS = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"}


def directory_root(url: str, repo_root: Path) -> Path | None:
    """The root of a directory remote (a path, relative to the repository, or file://), or
    None for any other URL."""
    import fsspec.core

    protocol, path = fsspec.core.split_protocol(url)
    if protocol not in (None, "file", "local"):
        return None
    local = Path(path).expanduser()
    return local if local.is_absolute() else repo_root / local


class RemoteStore:
    """Objects on a remote filesystem: which exist, upload, download."""

    def __init__(self, decl: RemoteDecl, repo_root: Path) -> None:
        self.name = decl.name
        self.url = decl.url
        with translate_errors(decl.name, decl.url):
            import fsspec

            protocol, path = fsspec.core.split_protocol(decl.url)
            options: dict[str, Any] = {}
            root = directory_root(decl.url, repo_root)
            if root is not None:
                protocol, path = "file", str(root)
                # No auto_mkdir: a root that vanished (a share unmounted mid-push) must fail,
                # not be re-created on the local disk; directories below it are made by upload.
            if protocol in ("s3", "s3a"):
                # Fail within seconds on an unreachable endpoint, retry transient errors a little.
                options["config_kwargs"] = {
                    "connect_timeout": 10,
                    "read_timeout": 120,
                    "retries": {"max_attempts": 3, "mode": "standard"},
                }
                if decl.endpoint_url:
                    options["endpoint_url"] = decl.endpoint_url
            self.protocol = protocol
            self.fs = fsspec.filesystem(protocol, **options)
        self.root = path.rstrip("/")
        self.atomic_put = protocol in ATOMIC_PUT
        self._safe_dirs: set[str] = set()  # directories of a directory remote checked for links
        self._unsynced: list[str] = []  # objects put on a directory remote, not yet synced
        self._unsynced_lock = threading.Lock()  # uploads run in worker threads

    def key(self, oid: ObjectId) -> str:
        algorithm, _, digest = oid.partition(":")
        return f"{self.root}/{algorithm}/{digest[:2]}/{digest[2:]}"

    def check(self, *, writing: bool = False) -> None:
        """Fail early and clearly when the remote's root cannot be reached or listed, or, for a
        directory, was never initialised (a typo, an unmounted share); refuse a remote whose
        marker records a format newer than this mlv reads."""
        with translate_errors(self.name, self.url):
            if self.protocol == "file":
                check_root(self.name, Path(self.root), writing=writing)
            elif self.protocol in BUCKETS:
                # Listing the bucket (not exists(), which hides errors) tells a missing bucket,
                # refused credentials and an unreachable endpoint apart.
                self.fs.ls(self.root.split("/", 1)[0], detail=False, refresh=True)
                read_format(self.fs, self.root, self.name)  # a newer format is refused
            else:  # any other filesystem: its root directory is created on demand
                self.fs.makedirs(self.root, exist_ok=True)
                read_format(self.fs, self.root, self.name)

    def init(self, *, parents: bool = False) -> Initialised | None:
        """Make a directory remote usable: create its root (the parent must exist unless
        ``parents``) or adopt an existing directory, and mark it. Other remotes are only
        checked (None): a bucket is created with the provider's tools."""
        with translate_errors(self.name, self.url):
            if self.protocol == "file":
                return init_root(self.name, Path(self.root), parents=parents)
        self.check()
        return None

    def present(self, oids: Iterable[ObjectId], jobs: int = 8) -> set[ObjectId]:
        """Which of ``oids`` the remote has, discovered by listing fan-out directories."""
        return set(self.sizes(oids, jobs))

    def sizes(self, oids: Iterable[ObjectId], jobs: int = 8) -> dict[ObjectId, int]:
        """The size of each of ``oids`` the remote has, from one listing per fan-out directory
        (no object is read: a name alone, or a size alone, says nothing of the bytes)."""
        by_dir: dict[str, dict[str, ObjectId]] = defaultdict(dict)
        oids = list(oids)
        if not self._holds_loose({oid.partition(":")[0] for oid in oids}):
            return {}  # a remote of packs only: no fan-out directory to list
        for oid in oids:
            key = self.key(oid)
            parent, _, name = key.rpartition("/")
            by_dir[parent][name] = oid

        def listing(parent: str) -> dict[ObjectId, int]:
            if self.protocol == "file":
                found = self.regular_files(parent)
            else:
                try:
                    entries = self.fs.ls(parent, detail=True, refresh=True)
                except FileNotFoundError:
                    return {}
                # Only objects: a "directory" (a key prefix) named like an object is not one.
                found = {
                    e["name"].rstrip("/").rpartition("/")[2]: int(e.get("size") or 0)
                    for e in entries
                    if e.get("type") == "file"
                }
            wanted = by_dir[parent]
            return {wanted[name]: size for name, size in found.items() if name in wanted}

        result: dict[ObjectId, int] = {}
        with translate_errors(self.name, self.url), ThreadPoolExecutor(jobs) as pool:
            for part in pool.map(listing, sorted(by_dir)):
                result.update(part)
        return result

    def _holds_loose(self, algorithms: set[str]) -> bool:
        """Whether the remote has a directory of loose objects for one of ``algorithms`` (one
        listing of its root, instead of one per fan-out directory)."""
        if not algorithms:
            return False
        with translate_errors(self.name, self.url):
            if self.protocol == "file":
                return any(os.path.lexists(f"{self.root}/{a}") for a in algorithms)
            try:
                names = self.fs.ls(self.root, detail=False, refresh=True)
            except FileNotFoundError:
                return False
        return bool(algorithms & {name.rstrip("/").rpartition("/")[2] for name in names})

    # -- a directory remote: its entries are looked at, never followed --------------------------
    # Anyone who can write to a shared directory could plant a link to elsewhere (or a FIFO, or
    # /dev/zero) under an object's name; reading or writing through it would leave the remote.

    def check_no_links(self, path: str) -> None:
        """UsageError when a directory between the remote's root and ``path`` is a link."""
        try:
            check_no_symlink_parents(Path(self.root), path[len(self.root) + 1 :], self._safe_dirs)
        except PathError as exc:
            raise UsageError(
                f"remote {self.name}: {exc.message}",
                "mlv never reads or writes through a symbolic link inside a remote directory;"
                " replace the link by a real directory (or remove it)",
            ) from None

    def regular_files(self, parent: str) -> dict[str, int]:
        """Names and sizes of the regular files in ``parent``: a link or special file is no
        object."""
        self.check_no_links(f"{parent}/-")
        try:
            with os.scandir(parent) as entries:
                return {
                    e.name: e.stat(follow_symlinks=False).st_size
                    for e in entries
                    if e.is_file(follow_symlinks=False)
                }
        except (FileNotFoundError, NotADirectoryError):
            return {}

    def _copy_out(self, key: str, dest: Path) -> None:
        """Copy the object at ``key`` only if it is a regular file itself (never through a
        link; a FIFO is opened without blocking, then refused like a device or a directory)."""
        self.check_no_links(key)
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(key, flags)
        except OSError as exc:
            if exc.errno != errno.ELOOP:  # ELOOP: the name is a symbolic link
                raise
            raise self.not_regular(key) from None
        with open(fd, "rb") as source:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise self.not_regular(key)
            with open(dest, "wb") as target:
                shutil.copyfileobj(source, target, 4 * 1024 * 1024)

    def make_dirs(self, path: str) -> None:
        """Create the directories from the root down to ``path``, never the root itself: if it
        is gone, the remote is (FileNotFoundError, exit 2)."""
        current = self.root
        for part in path[len(self.root) + 1 :].split("/"):
            current = f"{current}/{part}"
            with contextlib.suppress(FileExistsError):
                os.mkdir(current)

    def not_regular(self, key: str) -> RemoteError:
        return RemoteError(
            f"remote {self.name}: {key} is not a regular file (a link, a FIFO, a device or a"
            " directory); mlv does not read it",
            "remove it from the remote; `mlv push` from a clone that has the object puts the"
            " real one back",
        )

    def upload(self, local: Path, oid: ObjectId) -> None:
        key = self.key(oid)
        with translate_errors(self.name, self.url):
            if self.atomic_put:
                faults.write(key)
                self.fs.put_file(str(local), key)
                return
            tmp = f"{self.root}/tmp/{oid.digest}.{uuid.uuid4().hex[:12]}"
            if self.protocol == "file":
                self.check_no_links(tmp)
                self.check_no_links(key)
                self.make_dirs(f"{self.root}/tmp")
            faults.write(tmp)
            self.fs.put_file(str(local), tmp)
            try:
                if self.protocol == "file":
                    self.make_dirs(key.rpartition("/")[0])
                else:
                    self.fs.makedirs(key.rpartition("/")[0], exist_ok=True)
                faults.step(key)
                if self.protocol == "file":
                    # rename replaces whatever stands under the name (a link, a FIFO) itself;
                    # fsspec's mv would move *into* a directory a link points to.
                    os.replace(tmp, key)
                    with self._unsynced_lock:
                        self._unsynced.append(key)
                else:
                    self.fs.mv(tmp, key)
            except BaseException:
                with contextlib.suppress(Exception):
                    self.fs.rm_file(tmp)
                raise

    def sync_uploaded(self) -> int:
        """Make the objects uploaded to a directory remote since the last call survive a power
        cut of the disk holding it, as the local store does before a manifest names them
        (``gc`` deletes local copies that a remote holds). Object stores publish durably
        themselves. Returns how many objects were synced."""
        with self._unsynced_lock:
            written, self._unsynced = self._unsynced, []
        if not written:
            return 0
        with translate_errors(self.name, self.url):
            faults.step(f"sync {self.root}")
            sync_names(Path(self.root), written)
        return len(written)

    def download(self, oid: ObjectId, dest: Path) -> None:
        with translate_errors(self.name, self.url):
            faults.write(str(dest))
            if self.protocol == "file":
                self._copy_out(self.key(oid), dest)
            else:
                self.fs.get_file(self.key(oid), str(dest))
