"""The root of a directory remote: it must exist and say that it is an mlv remote.

A typo in a path, or a network share that is not mounted, must not turn into a new store on the
local disk. So push, fetch, pull and verify never create a directory remote's root: it is created
(or adopted) only when a person asks, by ``mlv remote add`` or ``mlv remote init``, which write a
small marker file at the root. An unmounted share usually leaves an empty mount-point directory
that exists; the missing marker tells it apart. A remote written by an mlv from before the marker
(it holds an ``<algorithm>/`` directory of objects) stays usable, and gets its marker on the next
push.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Literal

from mlv.errors import UsageError
from mlv.model.distribution import DISTRIBUTION
from mlv.model.ids import ALGORITHMS
from mlv.storage.fsutil import write_bytes_atomic

MARKER = "mlv-remote.json"
# The layout of the remote: 1, one file per object; 2, packs too (written before the first pack
# lands, so an mlv that reads only format 1 refuses the remote instead of missing objects).
FORMAT = 2  # the newest this mlv reads
WRITTEN = 1  # what a new remote is marked with: its first packed push raises it to 2


def marker_bytes(version: int) -> bytes:
    doc = {"format": version, "what": "an mlv remote (object store); do not edit"}
    return (json.dumps(doc) + "\n").encode()


_MARKER_BYTES = marker_bytes(WRITTEN)
MAX_MARKER = 64 * 1024
_MAX_MARKER = MAX_MARKER

Initialised = Literal["created", "initialised", "already"]


class MarkerDamaged(Exception):
    """The marker is there but is not one mlv wrote (why in the message)."""


_Damaged = MarkerDamaged


def check_root(name: str, root: Path, *, writing: bool) -> None:
    """UsageError unless ``root`` is an initialised directory remote (never creates anything but
    the marker of an earlier mlv's remote, when ``writing``)."""
    _require_directory(name, root)
    try:
        found = _read_marker(name, root)
    except _Damaged as exc:
        raise UsageError(
            f"remote {name}: {root / MARKER} {exc}",
            f"if {root} is this remote, `mlv remote init {name}` writes a new marker",
        ) from None
    if found is not None:
        return
    if not _holds_objects(root):
        raise UsageError(
            f"remote {name}: directory {root} is not an initialised mlv remote"
            " (an empty mount point?)",
            "check that the share is mounted and the path is right; to start a new remote"
            f" there, run `mlv remote init {name}`",
        )
    if writing:  # a remote of an earlier mlv: say what it is, so an empty one is never taken
        _write_marker(root)


def init_root(name: str, root: Path, *, parents: bool = False) -> Initialised:
    """Create ``root`` (its parent must exist unless ``parents``) or adopt the existing
    directory, and write the marker; what was done."""
    created = False
    if not os.path.lexists(root):
        if not parents and not root.parent.is_dir():
            if os.path.lexists(root.parent):  # a file: --parents cannot help
                raise UsageError(
                    f"remote {name}: cannot create {root}: {root.parent} is not a directory",
                    "check the path for a typo",
                )
            raise UsageError(
                f"remote {name}: cannot create {root}: {root.parent} does not exist",
                "check the path for a typo and that the share is mounted; pass --parents to"
                " create the missing directories too",
            )
        try:
            root.mkdir(parents=parents)
        except FileExistsError:
            pass  # made meanwhile by another process: adopt it
        except NotADirectoryError:
            raise _not_a_directory(name, root) from None
        created = True
    _require_directory(name, root)
    try:
        found = _read_marker(name, root)
    except _Damaged:
        found = None  # asked for explicitly: replace it
    if found is None:
        _write_marker(root)
    if created:
        return "created"
    return "already" if found is not None else "initialised"


def raise_format(name: str, root: Path, version: int) -> bool:
    """Mark the remote as format ``version`` at least (before writing what needs it); whether
    the marker changed."""
    if (_read_marker(name, root) or 1) >= version:
        return False
    write_bytes_atomic(root / MARKER, marker_bytes(version))
    return True


def _require_directory(name: str, root: Path) -> None:
    if root.is_dir():  # follows a link at the root itself: /mnt/team may be one
        return
    if os.path.lexists(root):
        raise _not_a_directory(name, root)
    raise UsageError(
        f"remote {name}: directory {root} does not exist",
        "check the path for a typo and that the share is mounted; to start a new remote"
        f" there, run `mlv remote init {name}`",
    )


def _not_a_directory(name: str, root: Path) -> UsageError:
    return UsageError(
        f"remote {name}: {root} is not a directory",
        f"check the path; to point the remote elsewhere: `mlv remote add {name} PATH --force`",
    )


def _read_marker(name: str, root: Path) -> int | None:
    """The format the marker records; None when there is none. Never follows a link and never
    blocks on a FIFO: anyone who can write to a shared directory could plant one."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(root / MARKER, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _Damaged("is a symbolic link") from None
        raise
    with open(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _Damaged("is not a regular file")
        data = handle.read(_MAX_MARKER + 1)
    return parse_marker(name, data)


def parse_marker(name: str, data: bytes) -> int:
    """The format a marker's bytes record (``MarkerDamaged`` if mlv did not write them);
    UsageError when it is newer than this mlv reads."""
    try:
        doc = json.loads(data) if len(data) <= _MAX_MARKER else None
    except ValueError:
        doc = None
    version = doc.get("format") if isinstance(doc, dict) else None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _Damaged("is not a marker mlv wrote")
    if version > FORMAT:
        raise UsageError(
            f"remote {name} has format {version}; this mlv knows format {FORMAT} at most",
            f"upgrade mlv to use this remote (pip install -U {DISTRIBUTION}, or the same in"
            " pipx or uv tool)",
        )
    return version


def _holds_objects(root: Path) -> bool:
    """Whether an earlier mlv stored objects here (a link is counted: using it is refused later
    with its own message)."""
    return any(os.path.lexists(root / algorithm) for algorithm in ALGORITHMS)


def _write_marker(root: Path) -> None:
    write_bytes_atomic(root / MARKER, _MARKER_BYTES)
