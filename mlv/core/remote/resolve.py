"""Which remote a command uses, opened and checked: the one place that decides it.

``-r NAME`` names one; otherwise the remote marked default, else the only one declared. A
transfer also needs the manifests it moves objects for (``transfer_scope``) and reports in one
shape (``TransferResult``), whichever way it goes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mlv.adapters.remote import RemoteStore
from mlv.core.objects.closure import default_revs, locks_at, require_locks
from mlv.core.project import Project
from mlv.errors import UsageError
from mlv.model.manifest import Lock
from mlv.model.remotes import RemoteDecl
from mlv.storage import index_cache

DEFAULT_JOBS = 8


@dataclass
class TransferResult:
    remote: str
    transferred: int = 0
    bytes: int = 0
    already_there: int = 0
    missing: list[str] = field(default_factory=list)  # not on the source side
    corrupt: list[str] = field(default_factory=list)  # refused: bytes did not match the id
    packs: int = 0  # packs uploaded (push) or read from (fetch)
    packs_read: set[str] = field(default_factory=set)  # fetch: the remote packs read from
    format_raised: bool = False  # this push marked the remote format 2 (its first packs)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.corrupt


def index_cache_of(project: Project) -> Path:
    """Where the local store keeps copies of remote pack indexes (``storage.index_cache``)."""
    return project.store.root / index_cache.DIRNAME


def resolve_remote(project: Project, name: str | None) -> RemoteDecl:
    remotes = project.declarations.remotes
    if name is not None:
        if name not in remotes:
            raise UsageError(
                f"no remote named {name!r}",
                f"remotes: {', '.join(sorted(remotes)) or '(none)'};"
                " add one with `mlv remote add NAME URL`",
            )
        return remotes[name]
    defaults = [r for r in remotes.values() if r.default]
    if defaults:
        return defaults[0]
    if len(remotes) == 1:
        return next(iter(remotes.values()))
    raise UsageError(
        "no default remote" if remotes else "no remote is configured",
        "add one with `mlv remote add NAME URL --default`, or pass -r NAME",
    )


def open_remote(project: Project, name: str | None, *, writing: bool = False) -> RemoteStore:
    """The remote, checked: a directory remote must have been initialised (never created here)."""
    remote = RemoteStore(resolve_remote(project, name), project.root)
    remote.check(writing=writing)
    return remote


def transfer_scope(
    project: Project, remote_name: str | None, revs: list[str] | None, what: str
) -> tuple[list[Lock], RemoteStore]:
    """The manifests to transfer for (default: HEAD and the work tree's), and the remote."""
    locks = locks_at(project, revs or default_revs(project), include_worktree=not revs)
    locks = require_locks(locks, what)
    return locks, open_remote(project, remote_name, writing=what == "push")
