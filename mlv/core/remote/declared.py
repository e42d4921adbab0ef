"""``mlv remote add|init|list|remove``: the remotes declared in mlv.toml."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mlv.adapters.dir_remote import Initialised
from mlv.adapters.remote import RemoteStore, directory_root
from mlv.core.project import Project
from mlv.errors import UsageError
from mlv.model.declarations import (
    DECLARATIONS_FILE,
    decode_declarations,
    with_remote,
    without_remote,
)
from mlv.model.names import check_name
from mlv.model.remotes import RemoteDecl, check_url
from mlv.storage.fsutil import write_bytes_atomic
from mlv.storage.lock import exclusive


@dataclass(frozen=True)
class ReadyRemote:
    decl: RemoteDecl
    directory: str | None = None  # the root of a directory remote
    done: Initialised | None = None  # what initialising the directory did


def add_remote(
    project: Project,
    name: str,
    url: str,
    *,
    default: bool = False,
    endpoint_url: str | None = None,
    force: bool = False,
    parents: bool = False,
) -> ReadyRemote:
    """Declare a remote in mlv.toml; a directory remote is created (or adopted) and marked
    first, so that a path with a typo is refused here rather than used later."""
    check_name(name, "remote")
    check_url(url)
    if endpoint_url is not None:
        check_url(endpoint_url, "endpoint URL")
    if name in project.declarations.remotes and not force:
        raise UsageError(f"remote {name} already exists", "pass --force to replace it")
    remote = RemoteDecl(name, url, default or not project.declarations.remotes, endpoint_url)
    ready = ReadyRemote(remote)
    if directory_root(url, project.root) is not None:  # other remotes are not contacted here
        ready = _initialise(project, remote, parents)
    elif parents:
        raise _parents_not_a_directory(name)
    _rewrite(project, lambda text: with_remote(text, remote))
    return ready


def init_remote(project: Project, name: str, *, parents: bool = False) -> ReadyRemote:
    """Make a declared remote usable from this clone: create and mark a directory remote's
    root (``mlv remote add`` does it on the machine where the remote was added)."""
    remote = project.declarations.remotes.get(name)
    if remote is None:
        raise UsageError(f"no remote named {name!r}", "`mlv remote list` shows the remotes")
    if parents and directory_root(remote.url, project.root) is None:
        raise _parents_not_a_directory(name)
    return _initialise(project, remote, parents)


def _initialise(project: Project, remote: RemoteDecl, parents: bool) -> ReadyRemote:
    store = RemoteStore(remote, project.root)
    done = store.init(parents=parents)
    return ReadyRemote(remote, store.root if store.protocol == "file" else None, done)


def _parents_not_a_directory(name: str) -> UsageError:
    return UsageError(
        f"--parents applies to a directory remote, and {name} is not one",
        "create buckets and prefixes with the provider's tools; drop --parents",
    )


def remove_remote(project: Project, name: str) -> None:
    if name not in project.declarations.remotes:
        raise UsageError(f"no remote named {name!r}", "`mlv remote list` shows the remotes")
    _rewrite(project, lambda text: without_remote(text, name))


def _rewrite(project: Project, edit: Callable[[str], str]) -> None:
    with exclusive(project.process_lock):
        toml = project.root / DECLARATIONS_FILE
        text = edit(toml.read_text(encoding="utf-8"))
        decode_declarations(text)
        write_bytes_atomic(toml, text.encode("utf-8"), durable=False, tmp_dir=project.tmp_dir)
