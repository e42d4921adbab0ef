"""Validation of the relative paths that appear in mlv.toml, mlv.lock and tree objects.

Every stored path is POSIX, relative, normalised and stays below the work tree: this is checked
where bytes become objects, so nothing later can be tricked into writing outside the repository.
"""

from __future__ import annotations

import re

from mlv.errors import PathError

# Backslashes and control characters (a newline would split a .gitignore line in two).
_BAD_CHARACTERS = re.compile(r"[\x00-\x1f\x7f\\]")
# An empty, "." or ".." component anywhere (one regex: this runs for every tree entry).
_NOT_NORMAL = re.compile(r"(^|/)\.{0,2}(/|$)")

# "C:/x" or "C:" would be absolute on Windows; "0:" or "a:b" are ordinary POSIX names.
_DRIVE = re.compile(r"^[A-Za-z]:(/|$)")

RESERVED_TOP = frozenset({".git", ".mlv"})
RESERVED_FILES = frozenset({"mlv.toml", "mlv.lock"})


def check_relpath(path: str, *, what: str = "path") -> str:
    """``path`` if it is a safe, normalised, relative POSIX path; PathError otherwise."""
    if not path or _BAD_CHARACTERS.search(path):
        raise PathError(
            f"invalid {what} {path!r}",
            "paths are relative and '/'-separated, without backslashes or control characters",
        )
    if path.startswith("/") or _DRIVE.match(path):
        raise PathError(f"{what} {path!r} is absolute", "paths are relative to the repository root")
    if _NOT_NORMAL.search(path):
        raise PathError(
            f"{what} {path!r} is not normalised or leaves the repository",
            "use a plain relative path without '.', '..' or empty components",
        )
    return path


def check_artifact_path(path: str) -> str:
    """Artifact roots are safe relative paths that are not mlv's own files."""
    check_relpath(path, what="artifact path")
    top = path.split("/", 1)[0]
    if top.lower() in RESERVED_TOP:
        raise PathError(
            f"{path!r} is inside {top}/, which mlv and git own", "track your own files only"
        )
    if path in RESERVED_FILES:
        raise PathError(
            f"{path} is mlv's own file and cannot be tracked", "git keeps it; commit it as code"
        )
    return path


def is_within(path: str, parent: str) -> bool:
    """True when ``path`` is ``parent`` or lies below it (both relative POSIX paths)."""
    return path == parent or path.startswith(parent + "/")


def find_nested(paths: list[str]) -> tuple[str, str] | None:
    """A pair (ancestor, descendant) among ``paths``, or None when none lies inside another."""
    known = set(paths)
    for path in paths:
        parent = path.rpartition("/")[0]
        while parent:
            if parent in known:
                return parent, path
            parent = parent.rpartition("/")[0]
    return None
