"""The operations behind `mlv env`: the record at a revision, the diff of two (or of one against
the running interpreter), and a restore into a directory of the user's."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import xxhash

from mlv.adapters.installer import Installer
from mlv.core.code import export as export_code
from mlv.core.env.cache import build_wait, cache_root
from mlv.core.env.capture import capture
from mlv.core.env.diff import EnvironmentDiff, diff_environments
from mlv.core.env.interpreters import find_interpreter
from mlv.core.env.plan import plan_restore
from mlv.core.env.restore import BuildResult, OnStep, build, damage, discard, ready
from mlv.core.project import Project
from mlv.errors import UsageError, listing
from mlv.model.environment import EnvironmentRecord
from mlv.model.ids import ObjectId
from mlv.model.manifest import CodeRecord, Lock, WriterRecord
from mlv.storage.hashing import hash_file
from mlv.storage.lock import exclusive


@dataclass(frozen=True, slots=True)
class RecordedEnv:
    rev: str
    commit: str
    record: EnvironmentRecord
    writer: WriterRecord | None


def environment_at(project: Project, rev: str) -> tuple[str, Lock, EnvironmentRecord]:
    """The commit, manifest and environment record of ``rev``."""
    sha, lock = project.lock_at(rev)
    if lock.environment is None:
        raise UsageError(
            f"{rev} ({sha[:10]}) records no environment", "take a snapshot with `mlv snapshot`"
        )
    return sha, lock, lock.environment


def show(project: Project, rev: str) -> RecordedEnv:
    sha, lock, record = environment_at(project, rev)
    return RecordedEnv(rev, sha, record, lock.writer)


def diff(project: Project, old: str | None, new: str | None) -> tuple[str, str, EnvironmentDiff]:
    """``old``'s record (default HEAD) against ``new``'s (default: the running interpreter),
    with the pins of requirements-style lockfiles compared; returns both sides' labels."""
    _, _, before = environment_at(project, old or "HEAD")
    if new is None:
        after = capture(project.root, project.declarations.env_variables, None)
        label = "current"
    else:
        _, _, after = environment_at(project, new)
        label = new
    on_disk = {oid: project.root / name for name, oid in after.lockfiles.items()}

    def read(oid: ObjectId) -> bytes | None:
        if project.store.exists(oid):
            return project.store.read_bytes(oid)
        path = on_disk.get(oid)
        if new is None and path is not None and path.is_file() and hash_file(path) == oid:
            return path.read_bytes()
        return None

    return old or "HEAD", label, diff_environments(before, after, read=read)


@dataclass(frozen=True, slots=True)
class RestoreOptions:
    installer: str = "auto"  # "auto" | "uv" | "pip"
    python: Path | None = None  # an interpreter to use instead of the recorded version
    installer_args: list[str] = field(default_factory=list)  # passed through (--find-links ...)
    from_record: bool = False  # ignore lockfiles, install the recorded package list
    force: bool = False  # rebuild a ready environment mlv restored there before


def restore_environment(
    project: Project,
    rev: str,
    target: Path,
    options: RestoreOptions = RestoreOptions(),
    *,
    on_step: OnStep = lambda *_: None,
) -> BuildResult:
    """Rebuild ``rev``'s environment as a virtual environment at ``target`` (locked: a second
    restore into the same directory waits for the first)."""
    target = _checked_target(target)
    what = f"restoring an environment into {target}"
    with exclusive(_restore_lock(target), build_wait(), what=what) as fd:
        return _restore(project, rev, target, options, on_step, fd)


def _checked_target(target: Path) -> Path:
    """``target`` made absolute, or a UsageError when it cannot be a new directory."""
    target = target.absolute()
    hint = "give a directory that does not exist yet (or an empty one) where you can write"
    if target.is_symlink() and not target.exists():
        raise UsageError(f"{target} is a symbolic link to nothing ({os.readlink(target)})", hint)
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a directory", hint)
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"{parent} is not a directory (in {target})", hint)
            break
    return target


def _restore_lock(target: Path) -> Path:
    """The lock two restores into one directory take (in the environment cache's root, so that
    nothing is left beside the user's directory)."""
    digest = xxhash.xxh3_128_hexdigest(os.fsencode(target))
    return cache_root(create=True) / ".locks" / f"restore-{digest}.lock"


def _restore(
    project: Project,
    rev: str,
    target: Path,
    options: RestoreOptions,
    on_step: OnStep,
    hold: int | None,
) -> BuildResult:
    sha, lock, record = environment_at(project, rev)
    plan = plan_restore(
        lock,
        project.store,
        from_record=options.from_record,
        read_code=lambda path: project.git.read_blob(sha, path),
    )
    # The project itself comes from REV's code (its commit and patch), exported into the
    # environment: two revisions of one record differ by that code.
    code = lock.code if plan.project else None
    marker = ready(target)
    notes = []
    if marker is not None:
        same_code = code is None or marker.get("code") == code.tree
        if marker.get("fingerprint") == str(record.fingerprint) and same_code:
            why = None if options.force else damage(target, marker)
            if why is not None:
                notes.append(f"rebuilt {target}: {why}")
                on_step("rebuild", why)
            elif not options.force:
                return BuildResult(
                    target, str(marker.get("python", "")), str(marker.get("installer", "")),
                    str(marker.get("source", "")), built=False,
                )  # fmt: skip
        elif not options.force:
            what = "another environment" if same_code else "the code of another revision"
            raise UsageError(
                f"{target} holds {what} mlv restored ({marker.get('fingerprint')},"
                f" {str(marker.get('commit', '?'))[:10]})",
                "give another directory, or --force to replace it",
            )
        discard(target)
    interpreter = find_interpreter(record.python, options.python)
    installer = Installer.choose(options.installer)
    about: dict[str, str] = {"rev": rev, "commit": sha}
    if code is not None:
        about["code"] = code.tree
    elif plan.project:
        notes.append(f"{rev} has no code record: the project itself ({listing(plan.project)}) is"
                     " not installed")  # fmt: skip
    result = build(
        plan,
        target,
        installer,
        interpreter,
        options.installer_args,
        about=about,
        project_code=None if code is None else partial(_export, project, code),
        on_step=on_step,
        hold=hold,
    )
    result.notes += notes
    return result


def _export(project: Project, code: CodeRecord, dest: Path) -> None:
    export_code(project, code, dest, f"env-code-{uuid.uuid4().hex[:8]}")
