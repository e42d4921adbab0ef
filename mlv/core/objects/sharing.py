"""Object stores shared between work trees: who uses a store, and the lock gc takes alone.

Any number of mlv processes may add objects to one store at once: objects appear by atomic
rename and equal ids mean equal bytes. gc is the exception. It deletes what no work tree
references, so it must know every work tree that uses the store, and no process may be between
storing an object and naming it in an mlv.lock while gc decides. So commands that add or read
objects hold the store's lock shared, gc holds it alone, and every store keeps a list of the
work trees that use it (``users/``, one small file each).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from mlv.core.project import Project
from mlv.storage.fsutil import write_bytes_atomic
from mlv.storage.hashing import hash_bytes
from mlv.storage.lock import exclusive, shared

P = ParamSpec("P")
R = TypeVar("R")

USERS_DIR = "users"
_DIGEST = re.compile(r"^[0-9a-f]{32}$")
LOCK_NAME = "lock"


@dataclass(frozen=True)
class Sharer:
    """Another work tree registered as a user of the store."""

    entry: Path  # the registration file, removed once the work tree is gone
    root: Path


def register(project: Project) -> None:
    """Record this work tree as a user of its store (once; later a single stat).

    Every work tree registers, its own private store included: another work tree may point its
    cache_dir at this one's ``.mlv/cache``, and gc there must then keep what this one needs.
    """
    root = str(project.root.resolve())
    entry = project.store.root / USERS_DIR / hash_bytes(root.encode()).digest
    with contextlib.suppress(OSError):
        if entry.stat().st_size == len(root.encode()):
            return
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp_dir = project.store.root / "tmp"  # not users/: gc reads every entry there
        # Durable: an entry a power cut left empty would hide this work tree from gc.
        write_bytes_atomic(entry, root.encode(), tmp_dir=tmp_dir)
    except OSError as exc:
        # A store this user may only read: nothing of ours can be added to it for gc to keep.
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise


@contextlib.contextmanager
def using_store(project: Project, timeout: float | None = None) -> Iterator[None]:
    """Add or read objects: registered, and with the store's lock held shared (gc waits).

    ``timeout`` caps the wait for a running gc (default: ``MLV_LOCK_TIMEOUT``)."""
    what = f"cleaning the object store {project.store.root} (mlv gc)"
    with shared(project.store.root / LOCK_NAME, timeout=timeout, what=what):
        register(project)  # under the lock: a gc listing users/ right now cannot miss it
        try:
            yield
        except BaseException:
            # What was stored before the failure is kept if it can be (a re-run or a resumed
            # fetch need not redo it); a pack that cannot be finished is removed.
            with contextlib.suppress(Exception):
                project.store.sync_written()
            raise
        project.store.sync_written()  # objects added since the command's last sync


@contextlib.contextmanager
def store_alone(project: Project) -> Iterator[None]:
    """Hold the store's lock alone: no other mlv process adds or reads objects meanwhile."""
    what = f"using the object store {project.store.root}"
    with exclusive(project.store.root / LOCK_NAME, what=what, exclusive_only=False):
        yield


def sharers(project: Project) -> list[Sharer]:
    """The other work trees registered as users of this project's store."""
    users = project.store.root / USERS_DIR
    if not users.is_dir():
        return []
    own = project.root.resolve()
    found = []
    for entry in sorted(users.iterdir()):
        if not _DIGEST.match(entry.name):
            continue  # not an entry of ours
        try:
            text = entry.read_text(encoding="utf-8").strip()
        except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError):
            continue  # vanished meanwhile, or not an entry of ours
        root = Path(text)
        if root.is_absolute() and root != own:
            found.append(Sharer(entry, root))
    return found


def shares_store(
    operation: Callable[Concatenate[Project, P], R],
) -> Callable[Concatenate[Project, P], R]:
    """Run ``operation(project, ...)`` inside ``using_store`` (for operations that take no
    repository lock; those that do take it first, then this one, as gc does)."""

    @functools.wraps(operation)
    def wrapper(project: Project, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with using_store(project):
            return operation(project, *args, **kwargs)

    return wrapper
