from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from mlv.adapters.git import GitRepo, find_toplevel

if TYPE_CHECKING:
    from mlv.core.project import Project


def _say(message: str) -> None:
    sys.stderr.write(f"mlv: {message}\n")


@click.group()
def hooks() -> None:
    """Install or remove mlv's git hooks (pre-commit, post-checkout, post-merge, pre-push)."""


@hooks.command()
@click.option("--force", is_flag=True, help="Replace a previously saved user hook.")
def install(force: bool) -> int:
    """Install the hooks into this repository's hooks directory (core.hooksPath honoured).

    A hook you already had is kept as <hook>.mlv-user and runs before mlv's. Safe to repeat.
    """
    from pathlib import Path

    from mlv.core.hooks import install as do_install

    for change in do_install(GitRepo(find_toplevel(Path.cwd())), force=force):
        click.echo(f"{change.hook}: {change.action}")
    return 0


@hooks.command()
def uninstall() -> int:
    """Remove mlv's hooks and put back the hooks they had replaced."""
    from pathlib import Path

    from mlv.core.hooks import uninstall as do_uninstall

    changes = do_uninstall(GitRepo(find_toplevel(Path.cwd())))
    for change in changes:
        click.echo(f"{change.hook}: {change.action}")
    if not changes:
        click.echo("no mlv hooks were installed")
    return 0


@hooks.command(hidden=True, context_settings={"ignore_unknown_options": True})
@click.argument("hook")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def run(hook: str, args: tuple[str, ...]) -> int:
    """Run one hook as git does (used by the shims)."""
    from mlv.core import hooks as core

    project = core.project_or_none()
    if project is None:
        return 0  # this repository does not use mlv
    try:
        if hook == "pre-commit":
            return _pre_commit(project)
        if hook == "lock-valid":
            return _lock_valid(project)
        if hook in ("post-checkout", "post-merge"):
            if hook == "post-checkout" and args[2:3] == ("0",):
                return 0  # a file checkout, not a branch switch
            return _after_checkout(project)
        if hook == "pre-push":
            return _pre_push(project, args[0] if args else "origin")
    finally:
        project.close()
    raise click.UsageError(f"unknown hook {hook!r}")


def _pre_commit(project: Project) -> int:
    from mlv.core import hooks as core
    from mlv.errors import ManifestError

    try:
        findings = core.pre_commit(project)
    except ManifestError as exc:
        _say(f"commit refused: {exc.message}")
        _say(
            "fix or restore mlv.lock (`git checkout -- mlv.lock`), or bypass once with "
            "`git commit --no-verify`"
        )
        return 1
    if findings.ok:
        return 0
    _say("commit refused: the work tree differs from the mlv.lock being committed")
    for path in findings.stale_artifacts:
        _say(f"  artifact {path}")
    for stage in findings.stale_stages:
        _say(f"  stage {stage}")
    for path in findings.staged_inside_tracked:
        _say(f"  {path} is inside a tracked path but staged into git (git rm --cached it)")
    _say(
        "run `mlv run` for stale stages and `mlv snapshot` to record the data (it commits);"
        " bypass once with `git commit --no-verify`"
    )
    return 1


def _lock_valid(project: Project) -> int:
    from mlv.core import hooks as core
    from mlv.errors import ManifestError

    try:
        project.read_lock()
        core.staged_lock(project)
    except ManifestError as exc:
        _say(f"{exc.message}")
        return 1
    return 0


def _after_checkout(project: Project) -> int:
    from mlv.core import hooks as core

    outcome = core.after_checkout(project)
    if outcome.missing:
        _say(
            f"{len(outcome.missing)} object(s) this commit needs are not in the local store;"
            " run `mlv pull` to get them"
        )
    elif outcome.kept_unsaved:
        _say(
            "data not updated: unsaved changes in "
            + ", ".join(outcome.kept_unsaved[:5])
            + "; `mlv snapshot` them, or `mlv checkout --force` to discard them"
        )
    elif outcome.written or outcome.removed:
        _say(
            f"data updated to match mlv.lock: {outcome.written} file(s) written, "
            f"{outcome.removed} removed"
        )
    return 0


def _pre_push(project: Project, remote_name: str) -> int:
    from mlv.core import hooks as core
    from mlv.core.sync import push
    from mlv.errors import MlvError, UsageError

    revs = core.pushed_revisions(project, remote_name, sys.stdin.read().splitlines())
    if not revs:
        return 0
    if not project.declarations.remotes:
        _say(
            "no mlv remote is configured, so the data of these commits stays on this machine;"
            " add one with `mlv remote add NAME URL --default`"
        )
        return 0
    try:
        result = push(project, None, revs)
    except UsageError as exc:
        _say(f"push refused: {exc.message}")
        _say(exc.hint or "")
        return 1
    except MlvError as exc:
        _say(f"push refused: the data could not be uploaded: {exc.message}")
        _say("fix the remote, then push again; bypass once with `git push --no-verify`")
        return 1
    if result.missing:
        _say(
            f"push refused: {len(result.missing)} object(s) the pushed commits need are not in"
            f" the local store (e.g. {result.missing[0]}); others could not get them"
        )
        _say("fetch them (`mlv fetch`), or bypass once with `git push --no-verify`")
        return 1
    if result.transferred:
        _say(f"uploaded {result.transferred} object(s) to mlv remote {result.remote}")
    return 0
