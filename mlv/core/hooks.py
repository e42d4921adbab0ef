"""Git hooks: installing mlv's shims, and what each hook does when git runs it.

pre-commit refuses a commit whose tracked artifacts or stage inputs differ from the mlv.lock
being committed; post-checkout and post-merge bring artifacts in line with the new mlv.lock;
pre-push uploads what the pushed commits need. None of these ever clobbers unsaved work.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from mlv.adapters.git import GitRepo, find_toplevel
from mlv.core.checkout import restore
from mlv.core.pipeline import pipeline_states
from mlv.core.project import Project
from mlv.core.sharing import using_store
from mlv.core.status import artifact_status
from mlv.core.workspace import Scanner
from mlv.errors import MissingObjects, MlvError, UsageError, WouldClobber
from mlv.model.manifest import LOCK_FILE, Lock, decode_lock
from mlv.model.paths import is_within
from mlv.storage.lock import Busy, exclusive

HOOKS = ("pre-commit", "post-checkout", "post-merge", "pre-push")
MARKER = "# mlv-hook-shim"
USER_SUFFIX = ".mlv-user"
ZERO_SHA = "0" * 40


def shim_template() -> str:
    """The shim script, shipped in the package (or beside it in a source checkout)."""
    packaged = Path(__file__).resolve().parents[1] / "_hooks" / "mlv-hook.sh"
    source = Path(__file__).resolve().parents[2] / "hooks" / "mlv-hook.sh"
    for candidate in (packaged, source):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    raise MlvError(
        "the hook template is missing from this mlv installation", "reinstall mlv"
    )  # pragma: no cover


def hooks_dir(git: GitRepo) -> Path:
    """Where git looks for hooks (core.hooksPath and worktrees honoured)."""
    path = Path(git.text("rev-parse", "--git-path", "hooks"))
    return path if path.is_absolute() else git.root / path


def is_ours(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return any(MARKER in handle.readline() for _ in range(3))
    except (FileNotFoundError, IsADirectoryError):
        return False


@dataclass
class HookChange:
    hook: str
    action: str  # "installed", "updated", "kept user hook as ...", "removed", "restored"


def install(git: GitRepo, *, force: bool = False) -> list[HookChange]:
    """Write the shims; a user's existing hook is kept as <hook>.mlv-user and chained."""
    directory = hooks_dir(git)
    directory.mkdir(parents=True, exist_ok=True)
    template = shim_template()
    changes = []
    for hook in HOOKS:
        target = directory / hook
        user = directory / (hook + USER_SUFFIX)
        action = "installed"
        if target.exists() or target.is_symlink():
            if is_ours(target):
                action = "updated"
            elif user.exists() and not force:
                raise UsageError(
                    f"{target} is not mlv's and {user.name} already exists",
                    "move one of them away, or pass --force to replace the saved hook",
                )
            else:
                os.replace(target, user)
                action = f"installed; your hook kept as {user.name} and run first"
        text = template.replace("__HOOK_NAME__", hook).replace(
            "__INSTALL_PYTHON__", _sh_quote(sys.executable)
        )
        tmp = target.with_name(f".{hook}.mlv-tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(0o755)
        os.replace(tmp, target)
        changes.append(HookChange(hook, action))
    return changes


def uninstall(git: GitRepo) -> list[HookChange]:
    """Remove mlv's shims and put back the hooks they had replaced."""
    directory = hooks_dir(git)
    changes = []
    for hook in HOOKS:
        target = directory / hook
        user = directory / (hook + USER_SUFFIX)
        if is_ours(target):
            target.unlink()
            if user.exists():
                os.replace(user, target)
                changes.append(HookChange(hook, "removed; your hook is back"))
            else:
                changes.append(HookChange(hook, "removed"))
    return changes


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


# --- what the hooks do ---------------------------------------------------------------------


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
    return decode_lock(proc.stdout, source=f"the staged {LOCK_FILE}")


def pre_commit(project: Project) -> PreCommitFindings:
    """Compare the work tree with the mlv.lock being committed."""
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


@dataclass
class SyncOutcome:
    written: int = 0
    removed: int = 0
    missing: list[str] = field(default_factory=list)
    kept_unsaved: list[str] = field(default_factory=list)
    skipped: str | None = None


HOOK_LOCK_TIMEOUT = 5.0


def after_checkout(project: Project) -> SyncOutcome:
    """post-checkout / post-merge: restore artifacts to the new mlv.lock, never clobbering."""
    outcome = SyncOutcome()
    try:
        lock = project.read_lock()
    except MlvError as exc:
        outcome.skipped = exc.message
        return outcome
    if lock is None or not lock.artifacts:
        outcome.skipped = "no artifacts recorded"
        return outcome
    try:
        # A git hook must not hold git up for a minute: if mlv is busy, say so and move on.
        with exclusive(project.process_lock, timeout=HOOK_LOCK_TIMEOUT), using_store(project):
            result = restore(project, lock, [])
    except Busy as exc:
        outcome.skipped = exc.message
        return outcome
    except MissingObjects as exc:
        outcome.missing = exc.missing
        return outcome
    except WouldClobber as exc:
        outcome.kept_unsaved = exc.paths
        return outcome
    outcome.written, outcome.removed = len(result.written), len(result.removed)
    return outcome


def pushed_revisions(project: Project, remote_name: str, ref_lines: list[str]) -> list[str]:
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


def project_or_none(start: Path | None = None) -> Project | None:
    """The mlv project here, or None when this repository does not use mlv (hooks stay quiet)."""
    from mlv.core.project import open_project

    root = find_toplevel(start or Path.cwd())
    if not (root / "mlv.toml").exists():
        return None
    return open_project(root)
