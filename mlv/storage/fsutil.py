"""File-system primitives: atomic writes, fast copies, reflinks."""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import stat
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

from mlv import faults
from mlv.errors import PathError

# ioctl request number of FICLONE (linux/fs.h): share extents copy-on-write (btrfs, XFS, ...).
_FICLONE = 0x40049409


TEMP_SUFFIX = ".mlv-tmp"


class _Names:
    """Unique temporary names: a random token per process and a counter (a uuid4 per name
    cost a getrandom call per file of a checkout)."""

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self.token = uuid.uuid4().hex[:8]
        self.counter = itertools.count()

    def next(self) -> str:
        return f"{self.token}{next(self.counter):x}"  # count() is atomic under the GIL


_NAMES = _Names()


def temp_name(directory: Path, stem: str = "") -> Path:
    """A unique name for a temporary file in ``directory`` (same file system as the target)."""
    return directory / f".{stem[:40]}.{_NAMES.next()}{TEMP_SUFFIX}"


def write_bytes_atomic(
    path: Path,
    data: bytes,
    *,
    mode: int = 0o644,
    durable: bool = True,
    tmp_dir: Path | None = None,
) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part.

    ``tmp_dir`` (same file system) holds the temporary file, so that a process killed mid-write
    leaves its debris in mlv's scratch directory rather than beside the user's files.
    """
    if tmp_dir is not None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(tmp_dir or path.parent, path.name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        try:
            write_all(fd, data, str(tmp))
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        faults.step(str(path))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_all(fd: int, data: bytes, label: str) -> None:
    """Write every byte of ``data`` to ``fd`` (the data write ``label`` of fault injection).

    A nearly full disk takes part of a write and refuses the next one: a short write is
    continued until the disk takes it all or raises, never passed off as a whole file. The fault
    mark falls after the first half, so an injected crash or disk error leaves a partial
    temporary file, as a real one does.
    """
    view = memoryview(data)
    half = len(view) // 2
    _write_fully(fd, view[:half])
    faults.write(label)
    _write_fully(fd, view[half:])


def write_unmarked(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` without a fault mark (for the later pieces of one file
    whose first piece was written with ``write_all``)."""
    _write_fully(fd, memoryview(data))


def _write_fully(fd: int, view: memoryview) -> None:
    while view:
        view = view[os.write(fd, view) :]


def try_reflink(src: Path, dst_fd: int) -> bool:
    """Clone ``src`` into the open file ``dst_fd`` copy-on-write; False where unsupported."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        return False
    with open(src, "rb", buffering=0) as source:
        try:
            fcntl.ioctl(dst_fd, _FICLONE, source.fileno())
        except OSError as exc:
            if exc.errno in (
                errno.EOPNOTSUPP,
                errno.ENOTTY,
                errno.EXDEV,
                errno.EINVAL,
                errno.ENOSYS,
            ):
                return False
            raise
    return True


def copy_into(src: Path, dst_fd: int, label: str) -> None:
    """Copy ``src``'s bytes into the empty file ``dst_fd`` (the data write ``label`` of fault
    injection): a reflink where possible, else an in-kernel copy, else read and write.

    As in ``write_all``, the fault mark falls once half the bytes are copied; a reflink is all
    or nothing, so its mark follows it.
    """
    if try_reflink(src, dst_fd):
        faults.write(label)
        return
    with open(src, "rb", buffering=0) as source:
        size = os.fstat(source.fileno()).st_size
        half = size // 2
        _copy_range(source.fileno(), dst_fd, 0, half)
        faults.write(label)
        _copy_range(source.fileno(), dst_fd, half, size)


def _copy_range(src_fd: int, dst_fd: int, start: int, end: int) -> None:
    """Copy bytes [start, end) of ``src_fd`` to the same offsets of ``dst_fd``."""
    pos = start
    in_kernel = True
    while pos < end:
        if in_kernel:
            try:
                n = os.copy_file_range(src_fd, dst_fd, end - pos, pos, pos)
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                    raise
                in_kernel = False  # not between these files: read and write instead
                continue
        else:
            chunk = os.pread(src_fd, min(end - pos, 4 * 1024 * 1024), pos)
            n = os.pwrite(dst_fd, chunk, pos) if chunk else 0
        if n == 0:
            break  # the source shrank; the caller's hash of the copy notices
        pos += n


def place(tmp: Path, dst: Path) -> None:
    """Rename a finished temporary file onto ``dst``; remove it if that fails."""
    try:
        os.replace(tmp, dst)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def fsync_path(path: str, *, directory: bool = False) -> None:
    """fsync a file, or a directory (which makes the names created in it durable)."""
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_SyncFs = Callable[[int], int]
_syncfs_cache: list[_SyncFs | None] = []  # loaded on first use: ctypes costs start-up time


def _load_syncfs() -> _SyncFs | None:
    """libc's syncfs(2), which Python's os module lacks; None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):  # a libc older than glibc 2.14, or none to load
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return function


def _syncfs() -> _SyncFs | None:
    if not _syncfs_cache:
        _syncfs_cache.append(_load_syncfs())
    return _syncfs_cache[0]


def sync_filesystem(path: Path) -> str | None:
    """Flush every written byte and name on the file system holding ``path`` to the disk.

    Linux: syncfs(2), which waits for that one file system; failing that (no syncfs in libc,
    or a sandbox refusing it) sync(2), which on Linux waits too but flushes every file system.
    Elsewhere sync(2) may return before the data is on disk, so None is returned and the caller
    must fsync file by file. Returns the call that did it: "syncfs" or "sync".
    """
    syncfs = _syncfs()
    if syncfs is not None:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            if syncfs(fd) == 0:
                return "syncfs"
            import ctypes

            code = ctypes.get_errno()
            if code not in (errno.ENOSYS, errno.EPERM):  # EPERM/ENOSYS: a seccomp filter
                raise OSError(code, os.strerror(code), str(path))
        finally:
            os.close(fd)
    if sys.platform.startswith("linux"):
        os.sync()
        return "sync"
    return None


def sync_names(root: Path, written: list[str]) -> None:
    """Make the files ``written`` below ``root`` (``root/<algorithm>/<fan>/<name>``) and their
    names survive a power cut, in a batch: one sync of the file system, then an fsync of each
    directory that got new names (a few hundred at most, whatever the file count). Where no
    whole-file-system sync waits for the disk (not Linux), each file is fsynced instead."""
    if sync_filesystem(root) is None:
        for path in written:
            fsync_path(path)
    fans = {path.rpartition("/")[0] for path in written}
    parents = {fan.rpartition("/")[0] for fan in fans}
    for directory in sorted(fans | parents | {str(root)}):
        fsync_path(directory, directory=True)


def _read_umask() -> int:
    # os.umask can only be read by setting it; do it once, at import, before any worker thread.
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


_UMASK = _read_umask()


def default_file_mode(executable: bool) -> int:
    """0o666/0o777 filtered by the process umask, as a newly created file would get."""
    return (0o777 if executable else 0o666) & ~_UMASK


def check_no_symlink_parents(root: Path, relpath: str, seen: set[str] | None = None) -> None:
    """Refuse a path below a symbolic link inside the work tree.

    A link among the parents could point anywhere; mlv never reads or writes through one.
    ``seen`` caches directories already checked (many files share few directories).
    """
    current = ""
    for part in relpath.split("/")[:-1]:
        current = f"{current}/{part}" if current else part
        if seen is not None and current in seen:
            continue
        try:
            mode = os.lstat(f"{root}/{current}").st_mode
        except (FileNotFoundError, NotADirectoryError):
            if seen is not None:
                seen.add(current)  # absent: checked (nothing below it to pass through)
            return  # the rest does not exist yet
        if stat.S_ISLNK(mode):
            raise PathError(
                f"{relpath} lies below the symbolic link {current}",
                "mlv never reads or writes through symbolic links; make it a real directory",
            )
        if seen is not None:
            seen.add(current)
