"""The format marker of a remote on an object store (S3, GCS, ...): ``<root>/mlv-remote.json``.

As on a directory remote (``dir_remote``), the marker says which layout the remote holds: 1, one
object per key; 2, packs too. Every command reads it before it uses the remote, and refuses a
format newer than this mlv reads; push raises it to 2 before its first pack lands. A bucket
without a marker is a format-1 remote (or a new one): it is used as such. An mlv from before
this check never reads the marker on an object store (docs/remotes.md says what it does).
"""

from __future__ import annotations

from typing import Any

from mlv import faults
from mlv.adapters.dir_remote import MARKER, MAX_MARKER, MarkerDamaged, marker_bytes, parse_marker
from mlv.errors import UsageError


def read_format(fs: Any, root: str, name: str) -> int | None:
    """The format the remote's marker records; None when there is none. A marker mlv did not
    write is refused (UsageError), a newer format too."""
    path = f"{root}/{MARKER}"
    try:
        # A ranged read: a hostile marker of many gigabytes is never downloaded.
        data: bytes = fs.cat_file(path, start=0, end=MAX_MARKER + 1)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    try:
        return parse_marker(name, data)
    except MarkerDamaged as exc:
        raise UsageError(
            f"remote {name}: {path} {exc}",
            f"if this is the remote's own marker, delete it (mlv writes a new one on the next"
            f" push), or point the remote elsewhere with `mlv remote add {name} URL --force`",
        ) from None


def raise_format(fs: Any, root: str, name: str, version: int) -> bool:
    """Mark the remote as format ``version`` at least (before writing what needs it); whether
    the marker changed."""
    if (read_format(fs, root, name) or 1) >= version:
        return False
    path = f"{root}/{MARKER}"
    faults.step(path)
    fs.pipe_file(path, marker_bytes(version))  # one PUT: atomic on an object store
    return True
