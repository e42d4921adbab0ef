"""``mlv log`` and ``mlv show``: the snapshots in git history and what one of them holds."""

from __future__ import annotations

from dataclasses import dataclass

from mlv.core.project import Project, lock_size_check
from mlv.errors import ManifestError, MlvError, UsageError
from mlv.model.manifest import LOCK_FILE, Lock, decode_lock


@dataclass(frozen=True, slots=True)
class LogEntry:
    commit: str
    date: str
    author: str
    subject: str
    lock: Lock | None  # None when the commit deleted mlv.lock
    problem: str | None = None  # set when the manifest at that commit cannot be read


def log(project: Project, limit: int | None = None) -> list[LogEntry]:
    """Commits reachable from HEAD that changed mlv.lock, newest first, with their manifests."""
    commits = project.git.log(LOCK_FILE, limit=limit)
    problems: dict[str, str] = {}
    try:
        shas = [c.sha for c in commits]
        blobs = project.git.read_blobs(shas, LOCK_FILE, check_size=lock_size_check)
    except ManifestError:
        # One manifest too large to read: find it, mark it, and list the others all the same.
        blobs = {}
        for c in commits:
            try:
                blobs[c.sha] = project.git.read_blob(c.sha, LOCK_FILE, check_size=lock_size_check)
            except ManifestError as exc:
                blobs[c.sha], problems[c.sha] = None, exc.message
    entries = []
    for c in commits:
        data = blobs[c.sha]
        lock, problem = None, problems.get(c.sha)
        if data is not None:
            try:
                lock = decode_lock(data, source=f"{LOCK_FILE} at {c.sha[:10]}")
            except MlvError as exc:
                problem = exc.message
        entries.append(LogEntry(c.sha, c.date, c.author, c.subject, lock, problem))
    return entries


@dataclass(frozen=True, slots=True)
class Shown:
    rev: str | None  # None for the work tree's mlv.lock
    commit: str | None
    lock: Lock


def show(project: Project, rev: str | None = None) -> Shown:
    """The manifest at ``rev`` (default: the work tree's mlv.lock)."""
    if rev is None:
        lock = project.read_lock()
        if lock is None:
            raise UsageError("there is no mlv.lock yet", "run `mlv snapshot` to write one")
        return Shown(None, None, lock)
    sha, lock = project.lock_at(rev)
    return Shown(rev, sha, lock)
