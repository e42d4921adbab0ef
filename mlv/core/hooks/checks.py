"""What each git hook decides when git runs it, and what it tells the git user.

pre-commit refuses a commit whose tracked artifacts or stage inputs differ from the mlv.lock being
committed; pre-push uploads what the pushed commits need and refuses the push when it cannot.
Those two are the only hooks that block git: they raise ``Refused`` (or let an error through to
the CLI's error boundary). post-checkout and post-merge run after git has done its work: they
bring the artifacts in line with the new mlv.lock, never clobbering unsaved work, and whatever
goes wrong there is a warning, never a failure of git's command. Installing the shims is
``mlv.core.hooks.install``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mlv.adapters.git import GitRepo, find_toplevel
from mlv.core.project import Project, open_project
from mlv.errors import CheckFailed, ManifestError, MissingObjects, MlvError, WouldClobber, listing
from mlv.model.declarations import DECLARATIONS_FILE
from mlv.model.manifest import LOCK_FILE, Lock, decode_lock
from mlv.model.paths import is_within
from mlv.model.secrets import scrub
from mlv.storage.lock import Busy, exclusive, lock_timeout

ZERO_SHA = "0" * 40
AFTER_CHECKOUT = ("post-checkout", "post-merge")
# A git hook must not hold git up for a minute: if mlv is busy longer, it says so and moves on.
HOOK_LOCK_TIMEOUT = 5.0
_BYPASS = {"commit": "git commit --no-verify", "push": "git push --no-verify"}


class Refused(CheckFailed):
    """A blocking hook (pre-commit, pre-push) refuses git's operation: why, the paths or stages
    concerned (``details``, one per line) and how to go on, bypass included."""

    def __init__(self, message: str, hint: str, details: Sequence[str] = ()) -> None:
        super().__init__(message, hint)
        self.details = tuple(details)


@dataclass(frozen=True)
class HookOutcome:
    """A hook that lets git go on: the lines it has for the git user (stderr), if any."""

    notes: tuple[str, ...] = ()
    # The error a post-checkout/post-merge hook turned into its warning (MLV_DEBUG shows it).
    failure: Exception | None = None


def project_or_none(start: Path | None = None) -> Project | None:
    """The mlv project here, or None when this repository does not use mlv (hooks stay quiet)."""
    root = find_toplevel(start or Path.cwd())
    if not (root / DECLARATIONS_FILE).exists():
        return None
    return open_project(root)


@contextlib.contextmanager
def _refusing(operation: str) -> Iterator[None]:
    """Any expected failure of a blocking hook refuses ``operation``, saying how to bypass it
    once. Failures of the machine and mlv's own bugs go to the CLI's error boundary as such."""
    try:
        yield
    except Refused:
        raise
    except MlvError as exc:
        raise _refusal(operation, exc.message, exc.hint) from exc


def _refusal(operation: str, why: str, todo: str | None, details: Sequence[str] = ()) -> Refused:
    bypass = f"to {operation} anyway, once: `{_BYPASS[operation]}`"
    hint = f"{todo}; {bypass}" if todo else bypass
    return Refused(f"{operation} refused by mlv: {why}", hint, details)


# --- pre-commit ------------------------------------------------------------------------------


@dataclass
class PreCommitFindings:
    stale_artifacts: list[str] = field(default_factory=list)
    stale_stages: list[str] = field(default_factory=list)
    staged_inside_tracked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.stale_artifacts or self.stale_stages or self.staged_inside_tracked)


def staged_lock(project: Project) -> Lock | None:
    """The mlv.lock in the index: the one this commit will record (validated)."""
    proc = project.git.run(["show", f":{LOCK_FILE}"], check=False)
    if proc.returncode != 0:
        return None
    try:
        return decode_lock(proc.stdout, source=f"the staged {LOCK_FILE}")
    except ManifestError as exc:
        # `git checkout -- mlv.lock` would restore the staged copy itself.
        raise ManifestError(
            exc.message,
            f"restore it with `git checkout HEAD -- {LOCK_FILE}`, or fix it and `git add` it",
        ) from exc


def pre_commit(project: Project) -> PreCommitFindings:
    """Compare the work tree with the mlv.lock being committed."""
    from mlv.core.pipeline.staleness import pipeline_states
    from mlv.core.record.status import artifact_status
    from mlv.core.workspace.scanner import Scanner

    findings = PreCommitFindings()
    lock = staged_lock(project) or Lock()
    declared = project.declarations.artifacts
    staged = project.git.run(["diff", "--cached", "--name-only", "-z"]).stdout.decode()
    for path in filter(None, staged.split("\x00")):
        if any(is_within(path, a) for a in declared):
            findings.staged_inside_tracked.append(path)
    scanner = Scanner(project.root, project.state, jobs=project.settings.jobs)
    for path in sorted(declared):
        status = artifact_status(
            project, path, declared[path].kind, lock.artifacts.get(path), scanner.scan(path)
        )
        if status.stale:
            findings.stale_artifacts.append(f"{path} ({status.state})")
    if project.declarations.stages:
        for state in pipeline_states(project, lock, scanner):
            # A record the lock marks stale is the lock saying so (`mlv snapshot` marked it):
            # the commit describes the work tree. A stage stale only through its upstream is
            # reported there.
            if state.own and not state.marked:
                findings.stale_stages.append(f"{state.name} ({'; '.join(state.reasons)})")
    project.state.flush()
    return findings


def before_commit(start: Path | None = None) -> HookOutcome:
    """pre-commit: refuse a commit whose work tree differs from the mlv.lock being committed."""
    with _refusing("commit"):
        project = project_or_none(start)
        if project is None:
            return HookOutcome()  # this repository does not use mlv
        try:
            findings = pre_commit(project)
        finally:
            project.close()
    if findings.ok:
        return HookOutcome()
    raise _refusal(
        "commit",
        f"the work tree differs from the {LOCK_FILE} being committed",
        "run `mlv run` for stale stages and `mlv snapshot` to record the data (it commits)",
        [f"artifact {path}" for path in findings.stale_artifacts]
        + [f"stage {stage}" for stage in findings.stale_stages]
        + [
            f"{path} is inside a tracked path but staged into git (`git rm --cached` it)"
            for path in findings.staged_inside_tracked
        ],
    )


def lock_valid(start: Path | None = None) -> HookOutcome:
    """The pre-commit framework's mlv-lock-valid: the work tree's and the staged mlv.lock parse."""
    with _refusing("commit"):
        project = project_or_none(start)
        if project is None:
            return HookOutcome()
        try:
            project.read_lock()
            staged_lock(project)
        finally:
            project.close()
    return HookOutcome()


# --- post-checkout and post-merge ------------------------------------------------------------


@dataclass
class SyncOutcome:
    written: int = 0
    removed: int = 0
    missing: list[str] = field(default_factory=list)
    kept_unsaved: list[str] = field(default_factory=list)
    skipped: str | None = None  # why nothing was done (mlv busy, nothing recorded)
    busy: bool = False


def after_checkout(project: Project) -> SyncOutcome:
    """Restore artifacts to the work tree's (new) mlv.lock, never clobbering unsaved work.

    Missing objects, unsaved work and a busy mlv are outcomes; anything else wrong raises."""
    from mlv.core.objects.sharing import using_store
    from mlv.core.restore.checkout import restore

    outcome = SyncOutcome()
    lock = project.read_lock()
    if lock is None or not lock.artifacts:
        outcome.skipped = "no artifacts recorded"
        return outcome
    try:
        timeout = min(HOOK_LOCK_TIMEOUT, lock_timeout())
        # Both locks: a gc holding the store must not hold git up for a minute either.
        with (
            exclusive(project.process_lock, timeout=timeout),
            using_store(project, timeout=timeout),
        ):
            # Read again under the lock, as `mlv checkout` does: a snapshot that held it may
            # just have rewritten mlv.lock.
            lock = project.read_lock() or Lock()
            result = restore(project, lock, [])
    except Busy as exc:
        outcome.skipped, outcome.busy = exc.message, True
        return outcome
    except MissingObjects as exc:
        outcome.missing = exc.missing
        return outcome
    except WouldClobber as exc:
        outcome.kept_unsaved = exc.paths
        return outcome
    outcome.written, outcome.removed = len(result.written), len(result.removed)
    return outcome


def after_git_checkout(hook: str, args: Sequence[str], start: Path | None = None) -> HookOutcome:
    """post-checkout / post-merge: bring the data in line with the new mlv.lock; never fail git."""
    if hook == "post-checkout" and len(args) > 2 and args[2] == "0":
        return HookOutcome()  # a file checkout, not a branch switch
    # The one place mlv catches every error outside the CLI's boundary, on purpose: git runs
    # these hooks after it has switched branches or merged, and a hook's non-zero exit would
    # only make `git checkout` report a failure for a checkout that happened. So whatever
    # goes wrong (a broken mlv.toml or mlv.lock on the new branch, a corrupt object, an
    # unreadable store, a bug in mlv) becomes one warning saying what to do.
    try:
        project = project_or_none(start)
        if project is None:
            return HookOutcome()
        try:
            outcome = after_checkout(project)
        finally:
            project.close()
    except Exception as exc:
        return HookOutcome((_not_updated(exc),), failure=exc)
    return HookOutcome(_sync_notes(outcome))


def _sync_notes(outcome: SyncOutcome) -> tuple[str, ...]:
    if outcome.missing:
        return (
            f"warning: data not updated: {len(outcome.missing)} object(s) this commit needs"
            " are not in the local store; run `mlv pull` to get them",
        )
    if outcome.kept_unsaved:
        return (
            f"warning: data not updated: unsaved changes in {listing(outcome.kept_unsaved)};"
            " `mlv snapshot` them, or `mlv checkout --force` to discard them",
        )
    if outcome.busy:
        return (
            f"warning: data not updated: {outcome.skipped}; run `mlv checkout` once it is done",
        )
    if outcome.written or outcome.removed:
        return (
            f"data updated to match {LOCK_FILE}: {outcome.written} file(s) written,"
            f" {outcome.removed} removed",
        )
    return ()


def _not_updated(exc: Exception) -> str:
    """One line: what kept the data from being updated, and what to do about it."""
    if isinstance(exc, MlvError):
        todo = f"{exc.hint}, then run `mlv checkout`" if exc.hint else "run `mlv checkout`"
        problem = exc.message
    elif isinstance(exc, OSError):
        where = str(exc.filename or "")
        if where.endswith(".mlv-tmp"):  # a temporary file's name says nothing; its directory does
            where = os.path.dirname(where)
        problem = f"{exc.strerror or exc}" + (f": {where}" if where else "")
        todo = "check the disk and its permissions, then run `mlv checkout`"
    else:
        problem = f"internal error: {type(exc).__name__}: {exc}"
        todo = (
            "run `mlv checkout` to see it again; this is a bug in mlv: report it"
            " (MLV_DEBUG=1 shows the traceback)"
        )
    # An error may quote a URL or a value from the environment: no secret reaches the terminal.
    return scrub(f"warning: data not updated: {problem}; {todo}", os.environ)


# --- pre-push --------------------------------------------------------------------------------


def pushed_revisions(project: Project, remote_name: str, ref_lines: Iterable[str]) -> list[str]:
    """Commits being pushed that carry an mlv.lock change, from pre-push's stdin lines."""
    revs: list[str] = []
    for line in ref_lines:
        parts = line.split()
        if len(parts) != 4 or parts[1] == ZERO_SHA:
            continue  # malformed, or a deletion: nothing to upload
        local_sha, remote_sha = parts[1], parts[3]
        # What the remote already has is excluded: its tip when we know that commit,
        # otherwise everything on the remote's tracking branches.
        if remote_sha != ZERO_SHA and _known(project.git, remote_sha):
            exclude = [f"^{remote_sha}"]
        else:
            exclude = ["--not", f"--remotes={remote_name}"]
        revs += project.git.text("rev-list", local_sha, *exclude, "--", LOCK_FILE).split()
    return list(dict.fromkeys(revs))


def _known(git: GitRepo, sha: str) -> bool:
    return git.run(["cat-file", "-e", f"{sha}^{{commit}}"], check=False).returncode == 0


def before_push(
    args: Sequence[str], ref_lines: Iterable[str], start: Path | None = None
) -> HookOutcome:
    """pre-push: upload what the pushed commits need to the default mlv remote, or refuse.

    ``ref_lines`` are git's lines on stdin, read only in a repository that uses mlv."""
    from mlv.adapters.remote import RemoteError
    from mlv.core.remote.push import push

    remote_name = args[0] if args else "origin"
    with _refusing("push"):
        project = project_or_none(start)
        if project is None:
            return HookOutcome()
        try:
            revs = pushed_revisions(project, remote_name, ref_lines)
            if not revs:
                return HookOutcome()
            if not project.declarations.remotes:
                return HookOutcome(
                    (
                        "warning: no mlv remote is configured, so the data of these commits"
                        " stays on this machine; add one with `mlv remote add NAME URL --default`",
                    )
                )
            try:
                result = push(project, None, revs)
            except RemoteError as exc:
                why = f"the data could not be uploaded: {exc.message}"
                raise _refusal("push", why, exc.hint or "fix the remote, then push again") from exc
        finally:
            project.close()
    if result.missing:
        raise _refusal(
            "push",
            f"{len(result.missing)} object(s) the pushed commits need are not in the local store"
            f" (e.g. {result.missing[0]}); others could not get them",
            "fetch them (`mlv fetch`), then push again",
        )
    if result.transferred:
        return HookOutcome(
            (f"uploaded {result.transferred} object(s) to mlv remote {result.remote}",)
        )
    return HookOutcome()
