"""Reading a tracked file as recorded at a revision: which object holds it, and its bytes.

Used by the Python API (``mlv.api.open``, ``read_table``). The object is served from the store;
when the store lacks it, the work tree's copy is used if its content is the recorded one, else
it is fetched from the default remote (verified on the way in, as every download is).
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mlv.core.objects.trees import Read, find
from mlv.core.project import Project, to_relpath
from mlv.errors import CorruptObject, MissingObjects, MlvError, UsageError
from mlv.model.ids import ObjectId
from mlv.model.manifest import Lock
from mlv.model.paths import check_relpath, is_within
from mlv.model.tree import TreeEntry
from mlv.storage.hashing import StreamHasher, hash_file


@dataclass(frozen=True, slots=True)
class RecordedFile:
    """A file as a manifest records it: its repository-relative path, object id and size."""

    path: str
    id: ObjectId
    size: int
    executable: bool
    commit: str | None  # the commit whose mlv.lock was read; None for the work tree's


def recorded_lock(project: Project, rev: str | None) -> tuple[str | None, Lock]:
    """The manifest at ``rev`` (a git revision), or the work tree's mlv.lock for None."""
    if rev is None:
        lock = project.read_lock()
        if lock is None:
            raise UsageError("there is no mlv.lock yet", "run `mlv snapshot` to write one")
        return None, lock
    return project.lock_at(rev)


def locate(project: Project, path: str, rev: str | None = None) -> RecordedFile:
    """The object of tracked file ``path`` (relative to the repository root) at ``rev``.

    ``path`` is a file artifact or a file inside a directory artifact. An absolute path is
    taken as one on this machine: inside the work tree it names the file there, outside it
    is a ``PathError``.
    """
    if os.path.isabs(path):
        rel = to_relpath(project.root, path)
    else:
        rel = check_relpath(path.rstrip("/") or path)
    commit, lock = recorded_lock(project, rev)
    where = f"at {rev}" if rev is not None else "in the work tree's mlv.lock"
    for root, record in lock.artifacts.items():
        if not is_within(rel, root):
            continue
        if rel == root:
            if record.type == "dir":
                raise UsageError(
                    f"{rel} is a directory artifact, not a file",
                    f"open one of its files, e.g. {rel}/NAME",
                )
            return RecordedFile(rel, record.id, record.size, record.executable, commit)
        entry = find(_local_reader(project, root), record.id, rel[len(root) + 1 :])
        if isinstance(entry, TreeEntry):
            return RecordedFile(rel, entry.id, entry.size, entry.executable, commit)
        break
    raise UsageError(
        f"{rel} is not a tracked file {where}",
        "`mlv show [REV]` lists the artifacts a snapshot recorded",
    )


def _local_reader(project: Project, root: str) -> Read:
    return lambda oid: ensure_local(project, oid, f"the listing of {root}")


def ensure_local(project: Project, oid: ObjectId, what: str) -> bytes:
    """The bytes of a small object (a tree), fetched from the default remote if missing."""
    if not project.store.exists(oid):
        _fetch(project, oid, what)
    return project.store.read_bytes(oid)


def _fetch(project: Project, oid: ObjectId, what: str) -> None:
    # the remote layer loads only when it is needed
    from mlv.core.remote.fetch import fetch_objects
    from mlv.core.remote.resolve import resolve_remote

    try:
        fetch_objects(project, {oid})
    except MlvError as exc:
        missing = MissingObjects([f"{oid} ({what})"])
        missing.hint = f"it could not be fetched from the default remote: {exc.message}"
        raise missing from exc
    if not project.store.exists(oid):
        missing = MissingObjects([f"{oid} ({what})"])
        name = resolve_remote(project, None).name
        missing.hint = (
            f"the default remote {name!r} does not have it either: push it there from a"
            " clone that has it (`mlv push`), or point `cache_dir` at a store that has it"
        )
        raise missing


def _workspace_copy(project: Project, recorded: RecordedFile) -> Path | None:
    """The work tree's file when its content is the recorded one (a clone with the data but
    not the objects)."""
    candidate = project.abspath(recorded.path)
    with contextlib.suppress(OSError):
        if candidate.is_file() and hash_file(candidate) == recorded.id:
            return candidate
    return None


@contextlib.contextmanager
def local_file(project: Project, recorded: RecordedFile) -> Iterator[Path]:
    """A file on this machine holding the recorded bytes, while the context lasts: the store's
    object (a packed one copied out, verified), the work tree's matching file, or the object
    fetched from the default remote."""
    if not project.store.exists(recorded.id):
        candidate = _workspace_copy(project, recorded)
        if candidate is not None:
            yield candidate
            return
        _fetch(project, recorded.id, recorded.path)
    with project.store.file_of(recorded.id) as path:
        yield path


def open_recorded(project: Project, recorded: RecordedFile) -> io.RawIOBase:
    """A stream of the recorded bytes, checked against the id as it is read; it reads the
    project's store, which must stay open until the stream is closed."""
    if not project.store.exists(recorded.id):
        candidate = _workspace_copy(project, recorded)
        if candidate is not None:
            return VerifiedReader(candidate, recorded.id)
        _fetch(project, recorded.id, recorded.path)
    store, oid = project.store, recorded.id
    return StoredReader(lambda: store.stream(oid), oid, recorded.path)


class StoredReader(io.RawIOBase):
    """Reads an object from the store piece by piece (a chunk of a large file, or a block of a
    loose object) and checks, at the end, that the bytes hash to the id: memory stays one piece
    whatever the size of the file. A seek reads the pieces again from the start up to the new
    position, and (anywhere but the start) ends the check, as in ``VerifiedReader``."""

    def __init__(self, pieces: Callable[[], Iterator[bytes]], oid: ObjectId, label: str) -> None:
        super().__init__()
        self._open_pieces = pieces
        self._oid = oid
        self._label = label
        self._restart(0)

    def _restart(self, position: int) -> None:
        self._pieces = self._open_pieces()
        self._hasher: StreamHasher | None = StreamHasher()
        self._buffer = memoryview(b"")
        self._done = False
        self._position = 0
        if position:
            self._hasher = None
            while self._position < position and self._fill():
                step = min(len(self._buffer), position - self._position)
                self._buffer = self._buffer[step:]
                self._position += step

    def _fill(self) -> bool:
        """Make the buffer hold unread bytes; False at the end of the object."""
        while not self._buffer and not self._done:
            piece = next(self._pieces, None)
            if piece is None:
                self._done = True
                if self._hasher is not None and self._hasher.id() != self._oid:
                    self._hasher = None
                    raise CorruptObject(str(self._oid), self._label)
            else:
                if self._hasher is not None:
                    self._hasher.update(piece)
                self._buffer = memoryview(piece)
        return bool(self._buffer)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._fill():
            return 0
        count = min(len(buffer), len(self._buffer))
        buffer[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        self._position += count
        return count

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._position
        elif whence == io.SEEK_END:
            raise io.UnsupportedOperation("seek from the end of a stored object")
        self._restart(max(0, offset))
        return self._position

    def tell(self) -> int:
        return self._position


class VerifiedReader(io.RawIOBase):
    """Reads a file in a stream and checks, at the end, that its bytes hash to the id.

    A seek anywhere but the start ends the check (the bytes are no longer read in order);
    memory stays one read buffer whatever the size of the file.
    """

    def __init__(self, path: Path, oid: ObjectId) -> None:
        super().__init__()
        self._file = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by close()
        self._path = path
        self._oid = oid
        self._hasher: StreamHasher | None = StreamHasher()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = self._file.readinto(buffer)
        if count is None:
            return 0
        if self._hasher is not None:
            if count:
                self._hasher.update(memoryview(buffer)[:count])
            elif self._hasher.id() != self._oid:
                self._hasher = None
                raise CorruptObject(str(self._oid), str(self._path))
        return count

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        position = self._file.seek(offset, whence)
        if position == 0:
            self._hasher = StreamHasher()
        else:
            self._hasher = None
        return position

    def tell(self) -> int:
        return self._file.tell()

    def close(self) -> None:
        self._file.close()
        super().close()
