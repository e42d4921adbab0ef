"""The operations behind `mlv env`: the record at a revision, the diff of two (or of one against
the running interpreter), and a restore into a directory of the user's."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mlv.adapters.installer import Installer
from mlv.core.env.capture import capture
from mlv.core.env.diff import EnvironmentDiff, diff_environments
from mlv.core.env.interpreters import find_interpreter
from mlv.core.env.plan import plan_restore
from mlv.core.env.restore import BuildResult, OnStep, build, ready
from mlv.core.project import Project
from mlv.errors import UsageError
from mlv.model.environment import EnvironmentRecord
from mlv.model.ids import ObjectId
from mlv.model.manifest import Lock, WriterRecord
from mlv.storage.hashing import hash_file


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
    """Rebuild ``rev``'s environment as a virtual environment at ``target``."""
    sha, lock, record = environment_at(project, rev)
    plan = plan_restore(
        lock,
        project.store,
        from_record=options.from_record,
        read_code=lambda path: project.git.read_blob(sha, path),
    )
    target = target.absolute()
    marker = ready(target)
    if marker is not None:
        if marker.get("fingerprint") == str(record.fingerprint) and not options.force:
            return BuildResult(
                target, str(marker.get("python", "")), str(marker.get("installer", "")),
                str(marker.get("source", "")), built=False,
            )  # fmt: skip
        if not options.force:
            raise UsageError(
                f"{target} holds another environment mlv restored ({marker.get('fingerprint')})",
                "give another directory, or --force to replace it",
            )
        import shutil

        shutil.rmtree(target)
    interpreter = find_interpreter(record.python, options.python)
    installer = Installer.choose(options.installer)
    about = {"rev": rev, "commit": sha}
    code = project.root if plan.project else None
    return build(
        plan,
        target,
        installer,
        interpreter,
        options.installer_args,
        about=about,
        project_code=code,
        on_step=on_step,
    )
