"""Reading a tracked file as recorded at a revision: which object holds it, and its bytes.

Used by the Python API (``mlv.api.open``, ``read_table``). The object is served from the store;
when the store lacks it, the work tree's copy is used if its content is the recorded one, else
it is fetched from the default remote (verified on the way in, as every download is).
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

from mlv.core.project import Project
from mlv.errors import CorruptObject, MissingObjects, MlvError, UsageError
from mlv.model.ids import ObjectId
from mlv.model.manifest import Lock
from mlv.model.paths import check_relpath, is_within
from mlv.model.tree import Tree
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

    ``path`` is a file artifact or a file inside a directory artifact.
    """
    rel = check_relpath(path.strip("/") if path != "/" else path)
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
        tree = Tree.decode(ensure_local(project, record.id, f"the listing of {root}"))
        entry = tree.by_path().get(rel[len(root) + 1 :])
        if entry is not None:
            return RecordedFile(rel, entry.id, entry.size, entry.executable, commit)
        break
    raise UsageError(
        f"{rel} is not a tracked file {where}",
        "`mlv show [REV]` lists the artifacts a snapshot recorded",
    )


def ensure_local(project: Project, oid: ObjectId, what: str) -> bytes:
    """The bytes of a small object (a tree), fetched from the default remote if missing."""
    if not project.store.exists(oid):
        _fetch(project, oid, what)
    return project.store.read_bytes(oid)


def _fetch(project: Project, oid: ObjectId, what: str) -> None:
    from mlv.core.sync import fetch_objects  # the remote layer loads only when it is needed

    try:
        fetch_objects(project, {oid})
    except MlvError as exc:
        missing = MissingObjects([f"{oid} ({what})"])
        missing.hint = f"it could not be fetched from the default remote: {exc.message}"
        raise missing from exc
    if not project.store.exists(oid):
        raise MissingObjects([f"{oid} ({what})"])


def local_path(project: Project, recorded: RecordedFile) -> Path:
    """A path on this machine holding the recorded bytes: the store's object, the work tree's
    file when its content is the recorded one, or the object fetched from the default remote."""
    if project.store.exists(recorded.id):
        return project.store.path_of(recorded.id)
    candidate = project.abspath(recorded.path)
    with contextlib.suppress(OSError):
        if candidate.is_file() and hash_file(candidate) == recorded.id:
            return candidate
    _fetch(project, recorded.id, recorded.path)
    return project.store.path_of(recorded.id)


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
