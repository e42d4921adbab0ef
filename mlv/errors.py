"""The expected failures of mlv.

Every failure a user can cause or fix is an ``MlvError``: a one-line message, an optional hint and
the exit code of DESIGN.md. Only ``mlv.cli.main`` turns them into output.
"""

from __future__ import annotations

from collections.abc import Iterable


class MlvError(Exception):
    """An expected failure: what went wrong, what to do, and the exit code."""

    exit_code = 3
    default_hint: str | None = None  # shown when the raiser gave no more specific hint
    details: tuple[str, ...] = ()  # what the message is about, one item a line (paths, stages)

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint or self.default_hint


class UsageError(MlvError):
    """Bad input from the user: flags, paths, revisions, files they edit."""

    exit_code = 2
    default_hint = "see `mlv --help` and docs/ for what mlv expects"


class CheckFailed(MlvError):
    """A check did its job and found something wrong (stale, corrupt, missing, would clobber)."""

    exit_code = 1
    default_hint = "`mlv status` shows the state of the work tree"


class NotARepository(UsageError):
    def __init__(self, where: str) -> None:
        super().__init__(
            f"not inside a git repository: {where}",
            "run mlv inside a git work tree (git init, then mlv init)",
        )


class NotInitialised(UsageError):
    def __init__(self, root: str) -> None:
        super().__init__(f"no mlv project at {root} (mlv.toml is missing)", "run `mlv init` first")


class ManifestError(UsageError):
    """mlv.toml, mlv.lock or a tree object is malformed or of an unknown schema."""

    default_hint = (
        "fix mlv.toml by hand; restore mlv.lock with `git checkout -- mlv.lock`;"
        " a bad object in the store is reported by `mlv verify`"
    )


class PathError(UsageError):
    """A path is outside the work tree, reserved, or otherwise unusable."""

    default_hint = "give a plain relative path inside the repository's work tree"


class UnknownRevision(UsageError):
    """A revision git cannot resolve."""

    def __init__(self, rev: str, *, no_commits: bool = False) -> None:
        super().__init__(
            f"unknown revision: {rev}" + (" (the repository has no commits yet)" * no_commits),
            "make the first snapshot with `mlv snapshot -m MESSAGE`"
            if no_commits
            else "give a commit, branch or tag that exists (see `mlv log`)",
        )


def listing(names: list[str], shown: int = 5) -> str:
    """The first few names and how many more: error messages stay one line."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


class MissingObjects(CheckFailed):
    """Objects a manifest needs are not in the store (``.missing`` lists their ids)."""

    def __init__(self, what: Iterable[str]) -> None:
        names = sorted(what)
        super().__init__(
            f"{len(names)} object(s) missing from the store: {listing(names)}",
            "fetch them with `mlv pull` (or point `cache_dir` at a store that has them)",
        )
        self.missing = names


class CorruptObject(CheckFailed):
    """An object's bytes do not hash to its id: it is reported, never served or restored."""

    def __init__(self, object_id: str, path: str) -> None:
        super().__init__(
            f"object {object_id} is corrupt (its bytes do not match its id): {path}",
            "run `mlv verify --repair` to fetch a whole copy from the remote",
        )
        self.object_id = object_id


class CorruptObjects(CheckFailed):
    """Several objects a checkout refused: every other file was restored."""

    def __init__(self, corrupt: list[tuple[str, CorruptObject]]) -> None:
        ids = ", ".join(oid for oid, _ in corrupt[:5]) + (", ..." if len(corrupt) > 5 else "")
        super().__init__(
            f"{len(corrupt)} objects are corrupt (their bytes do not match their ids) and were"
            f" not restored: {ids}; every other file was",
            "run `mlv verify --repair` to fetch whole copies from the remote",
        )
        self.object_ids = [oid for oid, _ in corrupt]


class WouldClobber(CheckFailed):
    def __init__(self, paths: Iterable[str]) -> None:
        names = sorted(paths)
        super().__init__(
            f"refusing to overwrite or delete unsaved work: {listing(names)}",
            "save it with `mlv snapshot` first, or pass --force to discard it",
        )
        self.paths = names


class GitError(MlvError):
    """git itself failed in a way we did not anticipate."""

    exit_code = 3
    default_hint = "run the git command yourself to see its whole message (MLV_DEBUG=1 shows more)"


class ObjectTooLarge(ManifestError):
    """An object the store would have to read whole is larger than it ever reads whole."""

    def __init__(self, object_id: str, size: int, limit: int) -> None:
        super().__init__(
            f"object {object_id} is {size:,} bytes, more than the {limit:,} mlv reads whole"
            " (tree objects and code patches are never that large)",
            "the manifest naming it may name a file where a directory belongs: restore mlv.lock"
            " from git (`git checkout -- mlv.lock`); `mlv verify` checks the store",
        )
