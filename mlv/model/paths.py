"""Validation of the relative paths that appear in mlv.toml, mlv.lock and tree objects.

Every stored path is POSIX, relative, normalised and stays below the work tree: this is checked
where bytes become objects, so nothing later can be tricked into writing outside the repository.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from mlv.errors import PathError

# Backslashes and control characters (a newline would split a .gitignore line in two).
_BAD_CHARACTERS = re.compile(r"[\x00-\x1f\x7f\\]")
# An empty, "." or ".." component anywhere (one regex: this runs for every tree entry).
_NOT_NORMAL = re.compile(r"(^|/)\.{0,2}(/|$)")
# A component that some file system takes for ".git" (git refuses the same, CVE-2014-9390 and
# later): any case; NTFS's trailing dots and spaces and alternate data streams (".git. ",
# ".git::$INDEX_ALLOCATION"); NTFS's 8.3 short name "git~1"; HFS+'s ignored code points (below).
_GIT_NAME = r"(?:\.git|git~1)[. ]*(?::[^/]*)?"
_DOTGIT = re.compile(rf"(?:^|/){_GIT_NAME}(?:/|$)", re.IGNORECASE)
# Both in one regex: a typical path costs one search, as it did before .git was checked.
_SUSPECT = re.compile(rf"(?:^|/)(?:\.{{0,2}}|(?i:{_GIT_NAME}))(?:/|$)")
# Code points HFS+ ignores in names, so that ".g\u200cit" is ".git" there.
_HFS_IGNORED = re.compile("[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]")

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
    if _SUSPECT.search(path) is None and (path.isascii() or _HFS_IGNORED.search(path) is None):
        return path
    if _NOT_NORMAL.search(path):
        raise PathError(
            f"{what} {path!r} is not normalised or leaves the repository",
            "use a plain relative path without '.', '..' or empty components",
        )
    if names_git_dir(path):
        raise PathError(
            f"{what} {path!r} has a .git component",
            "mlv never tracks or writes git's own directories: a .git inside the work tree"
            " would be a repository of its own, hooks included",
        )
    return path


def names_git_dir(path: str) -> bool:
    """True when a component of ``path`` is ".git" on some file system (see ``_DOTGIT``)."""
    if not path.isascii():
        path = _HFS_IGNORED.sub("", path)
    return _DOTGIT.search(path) is not None


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


def folded(path: str) -> str:
    """``path`` as a case-insensitive, Unicode-normalising file system (macOS, Windows) sees it:
    case folded and canonically normalised, so that "A.csv" ~ "a.csv" and "\u00e9" ~ "e\u0301"."""
    if path.isascii():
        return path.lower()
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", path).casefold())


def find_collision(paths: Iterable[str]) -> tuple[str, str] | None:
    """Two different paths among ``paths`` or their parent directories that would be one file on
    a case-insensitive or normalising file system (checking both out, one would overwrite the
    other), or None."""
    seen: dict[str, str] = {}
    dirs: set[str] = set()
    for path in paths:
        names = [path]
        parent = path.rpartition("/")[0]
        while parent and parent not in dirs:  # each directory once, however many files it holds
            dirs.add(parent)
            names.append(parent)
            parent = parent.rpartition("/")[0]
        for name in names:
            # folded(), inlined for ASCII: this runs for every file of a directory.
            other = seen.setdefault(name.lower() if name.isascii() else folded(name), name)
            if other != name:
                return (min(other, name), max(other, name))
    return None


def same_file_message(what: str, pair: tuple[str, str]) -> str:
    return (
        f"{what} {pair[0]!r} and {pair[1]!r} would be one file on a case-insensitive or"
        " Unicode-normalising file system (macOS, Windows): checking out one would overwrite"
        " the other"
    )


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
