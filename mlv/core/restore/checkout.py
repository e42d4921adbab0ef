"""``mlv checkout``: make tracked paths match a manifest, without losing unsaved work.

Everything is planned before anything is touched: which files to write, which to delete, and
whether any file about to be overwritten or deleted holds content the store does not have (that is
refused unless forced). Each file is written to a temporary name, verified against its id and
renamed into place, so an interrupted checkout leaves every file either old or new.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mlv import faults
from mlv.core.objects.sharing import using_store
from mlv.core.objects.trees import Read, walk
from mlv.core.progress import NULL_PROGRESS, Progress
from mlv.core.project import Project, to_relpath
from mlv.core.restore.writer import FileWriter, Target
from mlv.core.workspace.scanner import Scan, Scanner, WorkFile
from mlv.errors import (
    CorruptObject,
    CorruptObjects,
    ManifestError,
    MissingObjects,
    UsageError,
    WouldClobber,
)
from mlv.model.ids import ObjectId
from mlv.model.manifest import Lock
from mlv.model.paths import is_within
from mlv.model.tree import TreeEntry
from mlv.storage.fsutil import (
    check_no_symlink_parents,
    default_file_mode,
)
from mlv.storage.lock import exclusive


@dataclass
class Scope:
    """One region of the work tree to bring in line: an artifact, or a path inside one.

    Its files are not held: ``targets()`` walks the recorded tree (only the levels of a format
    2 tree on the way to and below the scope), so that 10^6 files are never all in memory.
    """

    path: str
    artifact: str
    record_id: ObjectId
    read: Read | None  # None: the artifact is a file, ``record_id`` is its object
    size: int
    executable: bool
    files: int
    empty_dirs: list[str]
    tree_id: ObjectId | None = None  # set when the scope is a whole recorded directory

    def targets(self) -> Iterator[Target]:
        if self.read is None:
            yield Target(self.artifact, self.record_id, self.size, self.executable)
            return
        under = self.path[len(self.artifact) + 1 :]
        for item in walk(self.read, self.record_id, under):
            if isinstance(item, TreeEntry):
                rel = f"{self.artifact}/{item.path}"
                yield Target(rel, item.id, item.size, item.executable)


@dataclass
class CheckoutResult:
    rev: str | None
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    bytes_written: int = 0
    artifacts: list[str] = field(default_factory=list)


def _scopes(project: Project, lock: Lock, wanted: list[str]) -> list[Scope]:
    """The regions to restore: every artifact, or the ones (or parts of them) in ``wanted``."""
    selected: list[tuple[str, str]] = []  # (artifact path, scope path)
    requested = sorted(set(wanted)) or sorted(lock.artifacts)
    # A directory that holds artifacts stands for them; a path inside another requested one
    # adds nothing (and would be planned twice).
    expanded: list[str] = []
    for path in requested:
        inner = [a for a in sorted(lock.artifacts) if is_within(a, path) and a != path]
        owner = next((a for a in lock.artifacts if is_within(path, a)), None)
        expanded.extend(inner if owner is None and inner else [path])
    requested = [p for p in expanded if not any(q != p and is_within(p, q) for q in expanded)]
    for path in dict.fromkeys(requested):
        owner = next((a for a in lock.artifacts if is_within(path, a)), None)
        if owner is None:
            raise UsageError(
                f"{path} is not a tracked path in this snapshot",
                "`mlv show [REV]` lists the artifacts a snapshot holds"
                " (if you meant a revision: git does not know it)",
            )
        selected.append((owner, path))
    scopes = []
    read = project.store.read_bytes
    for artifact, scope_path in selected:
        record = lock.artifacts[artifact]
        if record.type == "file":
            scope = Scope(
                artifact, artifact, record.id, None, record.size, record.executable, 1, []
            )
            scopes.append(scope)
            continue
        under = scope_path[len(artifact) + 1 :]
        dirs = [f"{artifact}/{d}" for d in walk(read, record.id, under) if isinstance(d, str)]
        scope = Scope(scope_path, artifact, record.id, read, record.size, False, record.files, dirs)
        if scope_path == artifact:
            dirs.append(artifact)
            scope.tree_id = record.id
        elif not dirs and next(scope.targets(), None) is None:
            raise UsageError(f"{scope_path} is not in the snapshot of {artifact}")
        scopes.append(scope)
    return scopes


def _current(
    scanner: Scanner, scope: Scope, scan: Scan | None
) -> tuple[dict[str, WorkFile], list[str]]:
    """The files (and empty directories) the work tree has in the scope, whatever their types."""
    found: dict[str, WorkFile] = {}
    # A file may stand where a directory of the scope should be: look at each ancestor.
    parent = scope.path.rpartition("/")[0]
    while parent:
        if (scanner.root / parent).is_file():
            scan = scanner.scan(parent)
            if scan is not None:
                found.update({f.relpath: f for f in scan.files})
        parent = parent.rpartition("/")[0]
    empty: list[str] = []
    if scan is not None:
        found.update({f.relpath: f for f in scan.files})
        empty = [f"{scope.path}/{d}" for d in scan.empty_dirs]
    return found, empty


def _replace_link(project: Project, relpath: str, force: bool) -> None:
    """A symbolic link standing where a tracked path belongs goes only with --force (the link
    itself is removed, never what it points to)."""
    check_no_symlink_parents(project.root, relpath)
    path = project.abspath(relpath)
    if not path.is_symlink():
        return
    if not force:
        raise WouldClobber([f"{relpath} (a symbolic link)"])
    faults.step(relpath)
    path.unlink()


def _remove_empty_parents(root: Path, relpath: str, stop: str, keep: set[str]) -> None:
    parent = relpath.rpartition("/")[0]
    while parent and is_within(parent, stop) and parent not in keep:
        try:
            (root / parent).rmdir()
        except OSError:
            return
        parent = parent.rpartition("/")[0]


def checkout(
    project: Project,
    *,
    rev: str | None = None,
    paths: list[str] | None = None,
    force: bool = False,
    progress: Progress = NULL_PROGRESS,
) -> CheckoutResult:
    """Restore tracked paths as recorded at ``rev`` (default: the work tree's mlv.lock)."""
    wanted = [to_relpath(project.root, p) for p in paths or []]
    # The manifest is read under the lock: a snapshot that held it may just have rewritten it.
    with exclusive(project.process_lock), using_store(project):
        if rev is not None:
            sha, lock = project.lock_at(rev)
        else:
            sha = None
            current_lock = project.read_lock()
            if current_lock is None:
                raise UsageError("there is no mlv.lock to check out", "run `mlv snapshot` first")
            lock = current_lock
        return restore(project, lock, wanted, force=force, progress=progress, rev=sha)


def restore(
    project: Project,
    lock: Lock,
    wanted: list[str],
    *,
    force: bool = False,
    progress: Progress = NULL_PROGRESS,
    rev: str | None = None,
) -> CheckoutResult:
    """Make ``wanted`` (repository-relative; all artifacts when empty) match ``lock``."""
    scopes = _scopes(project, lock, wanted)
    scanner = Scanner(project.root, project.state, jobs=project.settings.jobs, progress=progress)
    missing = {t.id for s in scopes for t in s.targets() if not project.store.exists(t.id)}
    if missing:  # before anything is touched
        raise MissingObjects(str(m) for m in sorted(missing))
    plan = _plan(project, scanner, scopes, force)
    _refuse_unsafe(project, plan, force)
    keep = {d for s in plan.scopes for d in s.empty_dirs}
    removed = _delete_files(project, plan, keep)
    project.state.forget(f.relpath for f in plan.deletes)
    writer = _write_files(project, plan, scanner.jobs, progress)
    for d in keep:
        (project.root / d).mkdir(parents=True, exist_ok=True)
    project.state.flush()
    if writer.corrupt:
        corrupt = writer.corrupt
        raise corrupt[0][1] if len(corrupt) == 1 else CorruptObjects(sorted(corrupt))
    return CheckoutResult(
        rev,
        written=writer.written,
        removed=removed,
        unchanged=plan.unchanged,
        bytes_written=writer.bytes,
        artifacts=plan.artifacts,
    )


def _plan(project: Project, scanner: Scanner, scopes: list[Scope], force: bool) -> _Plan:
    """Compare each scope with the work tree; a link standing in for one goes first (forced)."""
    plan = _Plan()
    for scope in scopes:
        _replace_link(project, scope.path, force)
        scan = scanner.scan(scope.path)
        if (
            scope.tree_id is not None
            and scan is not None
            and scan.type == "dir"
            and scan.object_id() == scope.tree_id
        ):
            # The whole directory already matches (known from its stat fingerprint).
            plan.unchanged += scope.files
        else:
            current, empty_dirs = _current(scanner, scope, scan)
            plan.add(project, scope, current, empty_dirs)
        plan.artifacts.append(scope.path)
    return plan


def _refuse_unsafe(project: Project, plan: _Plan, force: bool) -> None:
    """Refuse the plan before anything is touched: unsaved work at risk (unless forced), a
    symbolic link on the way to a path, a recorded size its object does not have."""
    if plan.at_risk and not force:
        raise WouldClobber(plan.at_risk)
    # Nothing is written or deleted through a symbolic link (it could lead anywhere). Only
    # parents are checked, so one path per directory says it all.
    checked: set[str] = set()
    parents = plan.parents | {f"{d}/." for s in plan.scopes for d in s.empty_dirs}
    for relpath in sorted(parents):
        check_no_symlink_parents(project.root, relpath, checked)
    if plan.wrong_size is not None:
        raise plan.wrong_size


def _delete_files(project: Project, plan: _Plan, keep: set[str]) -> list[str]:
    """Delete the files the plan removes, then the directories left empty (not those in
    ``keep``, which the record has); the files deleted."""
    removed: list[str] = []
    for f in plan.deletes:
        faults.step(f.relpath)
        project.abspath(f.relpath).unlink()
        removed.append(f.relpath)
    for f in plan.deletes:
        scope_root = next(
            s.path
            for s in plan.scopes
            if is_within(f.relpath, s.path) or is_within(s.path, f.relpath)
        )
        _remove_empty_parents(project.root, f.relpath, scope_root, keep)
    for d in sorted(plan.stray_dirs, key=len, reverse=True):
        with contextlib.suppress(OSError):
            (project.root / d).rmdir()
            scope_root = next(s.path for s in plan.scopes if is_within(d, s.path))
            _remove_empty_parents(project.root, d, scope_root, keep)
    return removed


def _write_files(project: Project, plan: _Plan, jobs: int, progress: Progress) -> FileWriter:
    """Write the files that differ, batch by batch, then set the modes of those that only
    differ in mode; the writer, which knows what was written and what was corrupt."""
    project.tmp_dir.mkdir(parents=True, exist_ok=True)
    progress.start(f"checking out {plan.writes} files", plan.bytes, unit="bytes")
    writer = FileWriter(project, jobs, progress)
    try:
        for batch in plan.batches():
            writer.write(batch)
    finally:
        progress.finish()
    for target in plan.chmods:
        path = project.abspath(target.relpath)
        os.chmod(path, default_file_mode(target.executable))
        writer.remember([target], [os.stat(path)])
    return writer


# Files written between two flushes of the stat cache: what checkout holds at once.
BATCH_FILES = 20_000


class _Plan:
    """What restoring the scopes takes, found before anything is touched; the files to write
    are counted here and walked again when written (``batches``), never all held."""

    def __init__(self) -> None:
        self.scopes: list[Scope] = []
        self.currents: list[dict[str, WorkFile]] = []
        self.at_risk: list[str] = []
        self.parents: set[str] = set()
        self.chmods: list[Target] = []
        self.deletes: list[WorkFile] = []
        self.stray_dirs: list[str] = []
        self.artifacts: list[str] = []  # every scope's path, planned or already matching
        self.unchanged = self.writes = self.bytes = 0
        self.wrong_size: ManifestError | None = None

    def add(
        self, project: Project, scope: Scope, current: dict[str, WorkFile], empty_dirs: list[str]
    ) -> None:
        store = project.store
        seen: set[str] = set()
        for target in scope.targets():
            have = current.get(target.relpath)
            if have is not None:
                seen.add(target.relpath)
            if have is not None and have.id == target.id:
                if have.executable != target.executable:
                    self.chmods.append(target)
                else:
                    self.unchanged += 1
                continue
            self.writes += 1
            self.bytes += target.size
            self.parents.add(_parent(target.relpath))
            if have is not None and not store.exists(have.id):
                self.at_risk.append(have.relpath)
            if self.wrong_size is None:
                self.wrong_size = _wrong_size(project, target)
        for rel, f in current.items():
            if rel not in seen:
                self.deletes.append(f)
                self.parents.add(_parent(rel))
                if not store.exists(f.id):
                    self.at_risk.append(rel)
        self.stray_dirs.extend(d for d in empty_dirs if d not in scope.empty_dirs)
        self.scopes.append(scope)
        self.currents.append(current)

    def batches(self) -> Iterator[list[Target]]:
        """The files to write, walked again, in batches of at most BATCH_FILES."""
        batch: list[Target] = []
        for scope, current in zip(self.scopes, self.currents, strict=True):
            for target in scope.targets():
                have = current.get(target.relpath)
                if have is None or have.id != target.id:
                    batch.append(target)
                    if len(batch) >= BATCH_FILES:
                        yield batch
                        batch = []
        if batch:
            yield batch


def _parent(relpath: str) -> str:
    return f"{relpath.rpartition('/')[0]}/." if "/" in relpath else relpath


def _wrong_size(project: Project, target: Target) -> ManifestError | None:
    """An object that hashes to its id yet has another size than its record says (a
    hand-edited mlv.lock naming a tree object as a file, say); None when all is well, or when
    the object itself is damaged (export refuses that one, and only it)."""
    try:
        stored = project.store.size_of(target.id)
    except CorruptObject:
        return None
    if stored == target.size or not project.store.verify(target.id):
        return None
    return ManifestError(
        f"{target.relpath} is recorded as {target.size} bytes, but its object"
        f" {target.id} has {stored}",
        "mlv.lock or a tree object was edited by hand; restore it from git",
    )


