"""``mlv remote add|list|remove``: the remotes declared in mlv.toml."""

from __future__ import annotations

from collections.abc import Callable

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


def add_remote(
    project: Project,
    name: str,
    url: str,
    *,
    default: bool = False,
    endpoint_url: str | None = None,
    force: bool = False,
) -> RemoteDecl:
    check_name(name, "remote")
    check_url(url)
    if endpoint_url is not None:
        check_url(endpoint_url, "endpoint URL")
    if name in project.declarations.remotes and not force:
        raise UsageError(f"remote {name} already exists", "pass --force to replace it")
    remote = RemoteDecl(name, url, default or not project.declarations.remotes, endpoint_url)
    _rewrite(project, lambda text: with_remote(text, remote))
    return remote


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
