"""Bringing one DVC output into mlv's store: each file re-hashed, its MD5 checked on the way.

The bytes come from DVC's cache. A file missing there is taken from the work tree only when its
MD5 is the one DVC recorded; a cache file whose MD5 is not its name is corrupt and is reported,
never imported. A directory is DVC's ``.dir`` listing (itself checked) turned into a tree object.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mlv.adapters.dvc import DvcOut
from mlv.errors import MlvError
from mlv.model.ids import ObjectId
from mlv.model.paths import check_relpath
from mlv.model.tree import TreeEntry, split_tree
from mlv.storage.hashing import hash_bytes, hash_file_and_md5
from mlv.storage.store import ObjectStore

MAX_LISTING = 512 * 1024 * 1024  # as for mlv's own tree objects


class OutputProblem(Exception):
    """Why an output cannot be imported (one line)."""


@dataclass(frozen=True, slots=True)
class ImportedOutput:
    path: str
    type: Literal["file", "dir"]
    id: ObjectId
    size: int
    files: int
    executable: bool
    from_workspace: int  # files taken from the work tree because DVC's cache lacked them


def _executable(path: Path) -> bool:
    try:
        return bool(os.stat(path).st_mode & 0o100)
    except OSError:
        return False


def _file(
    store: ObjectStore, out: DvcOut, md5: str, workspace: Path, display: str, dry_run: bool
) -> tuple[ObjectId, int, bool]:
    """(id, size, taken from the work tree) of one file whose recorded MD5 is ``md5``."""
    cached = out.cache_path(md5)
    if cached.is_file():
        oid, md5s = hash_file_and_md5(cached, dos2unix=out.legacy)
        if md5 not in md5s:
            raise OutputProblem(
                f"{display}: DVC's cache file {cached.name} is corrupt"
                f" (its MD5 is {min(md5s)}, not {md5}); `dvc fetch` or restore it first"
            )
        source, from_workspace = cached, False
    elif workspace.is_file():
        oid, md5s = hash_file_and_md5(workspace, dos2unix=out.legacy)
        if md5 not in md5s:
            raise OutputProblem(
                f"{display}: not in DVC's cache, and the work tree's copy is not the one DVC"
                " recorded; `dvc fetch` (or `dvc pull`) first"
            )
        source, from_workspace = workspace, True
    else:
        raise OutputProblem(
            f"{display}: missing from DVC's cache and the work tree; `dvc pull` first"
        )
    size = os.stat(source).st_size
    if not dry_run and not store.exists(oid):
        try:
            store.add_file(source, oid, display=display)
        except MlvError as exc:  # the file changed while it was copied
            raise OutputProblem(f"{display}: {exc.message}") from None
    return oid, size, from_workspace


def _listing(out: DvcOut) -> list[tuple[str, str]]:
    """(relative path, MD5) of each file of a directory output, from DVC's checked listing."""
    assert out.md5 is not None
    cached = out.cache_path(out.md5)
    if not cached.is_file():
        raise OutputProblem(f"{out.path}: DVC's listing {out.md5} is missing from its cache")
    if cached.stat().st_size > MAX_LISTING:
        raise OutputProblem(f"{out.path}: DVC's listing {out.md5} is too large to be one")
    _, md5s = hash_file_and_md5(cached)
    if out.md5.removesuffix(".dir") not in md5s:
        raise OutputProblem(f"{out.path}: DVC's listing {out.md5} is corrupt (MD5 mismatch)")
    try:
        raw = json.loads(cached.read_bytes())
        entries = [(check_relpath(str(e["relpath"])), str(e["md5"])) for e in raw]
    except MlvError as exc:
        raise OutputProblem(f"{out.path}: DVC's listing names a bad path: {exc.message}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise OutputProblem(f"{out.path}: DVC's listing cannot be read: {exc}") from None
    return entries


def bring_in(store: ObjectStore, root: Path, out: DvcOut, *, dry_run: bool) -> ImportedOutput:
    """Check and store ``out``'s data (with ``dry_run``, check only); its mlv record."""
    if out.md5 is None:
        raise OutputProblem(f"{out.path}: DVC recorded no hash for it (run `dvc repro` first)")
    workspace = root / out.path
    if not out.is_dir:
        oid, size, taken = _file(store, out, out.md5, workspace, out.path, dry_run)
        return ImportedOutput(out.path, "file", oid, size, 1, _executable(workspace), int(taken))
    entries = []
    from_workspace = 0
    for relpath, md5 in _listing(out):
        path = workspace / relpath
        oid, size, taken = _file(store, out, md5, path, f"{out.path}/{relpath}", dry_run)
        from_workspace += taken
        entries.append(TreeEntry(relpath, oid, size, _executable(path)))
    # Format 2: one object per directory level, each stored after the levels below it.
    levels = split_tree((e.path, e.id, e.size, e.executable) for e in entries)
    for data in levels:
        tree_id = hash_bytes(data) if dry_run else store.add_bytes(data)
    size = sum(e.size for e in entries)
    return ImportedOutput(out.path, "dir", tree_id, size, len(entries), False, from_workspace)
