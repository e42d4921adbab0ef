"""``mlv checkout``: make tracked paths match a manifest, without losing unsaved work.

Everything is planned before anything is touched: which files to write, which to delete, and
whether any file about to be overwritten or deleted holds content the store does not have (that is
refused unless forced). Each file is written to a temporary name, verified against its id and
renamed into place, so an interrupted checkout leaves every file either old or new.
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mlv import faults
from mlv.core.parallel import batched_map
from mlv.core.progress import NULL_PROGRESS, Progress
from mlv.core.project import Project, to_relpath
from mlv.core.sharing import using_store
from mlv.core.trees import walk
from mlv.core.workspace import Scan, Scanner, WorkFile
from mlv.errors import (
    CheckFailed,
    CorruptObject,
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
from mlv.storage.state import Proofs, StatCache, StatKey


@dataclass(frozen=True, slots=True)
class Target:
    relpath: str
    id: ObjectId
    size: int
    executable: bool


@dataclass
class Scope:
    """One region of the work tree to bring in line: an artifact, or a path inside one."""

    path: str
    targets: dict[str, Target]
    empty_dirs: list[str]
    tree_id: ObjectId | None = None  # set when the scope is a whole recorded directory


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
    for artifact, scope_path in selected:
        record = lock.artifacts[artifact]
        if record.type == "file":
            target = Target(artifact, record.id, record.size, record.executable)
            scopes.append(Scope(artifact, {artifact: target}, []))
            continue
        # Only the levels of a format 2 tree on the way to (and below) the scope are read.
        under = scope_path[len(artifact) + 1 :]
        targets = {}
        dirs = []
        for item in walk(project.store.read_bytes, record.id, under):
            if isinstance(item, TreeEntry):
                rel = f"{artifact}/{item.path}"
                targets[rel] = Target(rel, item.id, item.size, item.executable)
            else:
                dirs.append(f"{artifact}/{item}")
        tree_id = None
        if scope_path == artifact:
            dirs.append(artifact)
            tree_id = record.id
        elif not targets and not dirs:
            raise UsageError(f"{scope_path} is not in the snapshot of {artifact}")
        scopes.append(Scope(scope_path, targets, dirs, tree_id))
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


def _clear_dir(path: Path) -> None:
    """Remove a directory that holds only (possibly nested) empty directories."""
    for dirpath, _dirs, _files in sorted(os.walk(path), key=lambda w: -len(w[0])):
        os.rmdir(dirpath)


def _check_sizes(project: Project, writes: list[Target]) -> None:
    """Every object to be written has the size its record says, checked before anything changes.

    An object is intact when its bytes hash to its id (export checks that), yet it may not be
    what the record describes: a hand-edited mlv.lock naming a tree object as a file, say.
    """
    for target in writes:
        try:
            stored = project.store.size_of(target.id)
        except CorruptObject:
            continue  # a damaged chunk list: export refuses this one, and only this one
        if stored != target.size:
            if not project.store.verify(target.id):  # the object is what is wrong:
                continue  # export refuses it, and only it
            raise ManifestError(
                f"{target.relpath} is recorded as {target.size} bytes, but its object"
                f" {target.id} has {stored}",
                "mlv.lock or a tree object was edited by hand; restore it from git",
            )


def _materialise(
    project: Project, target: Target, hardlink: bool, proofs: Proofs
) -> os.stat_result | None:
    """Write one file from the store into the work tree, verified, atomically; the linked
    object's stat when it was hard-linked (see ``ObjectStore.export``)."""
    dst = project.abspath(target.relpath)
    if dst.is_dir() and not dst.is_symlink():
        _clear_dir(dst)  # its files were removed as planned; a file takes its place
    return project.store.export(
        target.id,
        dst,
        project.tmp_dir,
        executable=target.executable,
        hardlink=hardlink,
        proven=lambda st: StatCache.proven(proofs, target.id, st),
    )


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
    result = CheckoutResult(rev)
    scopes = _scopes(project, lock, wanted)
    needed = {t.id for s in scopes for t in s.targets.values()}
    missing = project.store.missing(needed)
    if missing:
        raise MissingObjects(str(m) for m in missing)

    scanner = Scanner(project.root, project.state, jobs=project.settings.jobs, progress=progress)
    writes: list[Target] = []
    chmods: list[Target] = []
    deletes: list[WorkFile] = []
    overwritten: list[WorkFile] = []
    stray_dirs: list[str] = []
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
            result.unchanged += len(scope.targets)
            result.artifacts.append(scope.path)
            continue
        current, empty_dirs = _current(scanner, scope, scan)
        for rel, target in scope.targets.items():
            have = current.get(rel)
            if have is not None and have.id == target.id:
                if have.executable != target.executable:
                    chmods.append(target)
                else:
                    result.unchanged += 1
                continue
            writes.append(target)
            if have is not None:
                overwritten.append(have)
        deletes.extend(f for rel, f in current.items() if rel not in scope.targets)
        stray_dirs.extend(d for d in empty_dirs if d not in scope.empty_dirs)
        result.artifacts.append(scope.path)

    at_risk = [f for f in [*overwritten, *deletes] if not project.store.exists(f.id)]
    if at_risk and not force:
        raise WouldClobber(f.relpath for f in at_risk)
    # Nothing is written or deleted through a symbolic link (it could lead anywhere).
    checked: set[str] = set()
    paths = [t.relpath for t in writes] + [f.relpath for f in deletes]
    paths += [f"{d}/." for s in scopes for d in s.empty_dirs]  # each directory itself, too
    # Only parents are checked, so one path per directory says it all (a missing directory
    # is not remembered as checked: 50,000 files into an empty tree were 50,000 lstat calls).
    for relpath in {f"{p.rpartition('/')[0]}/." if "/" in p else p: None for p in paths}:
        check_no_symlink_parents(project.root, relpath, checked)
    _check_sizes(project, writes)

    keep = {d for s in scopes for d in s.empty_dirs}
    for f in deletes:
        faults.step(f.relpath)
        project.abspath(f.relpath).unlink()
        result.removed.append(f.relpath)
    for f in deletes:
        scope_root = next(
            s.path for s in scopes if is_within(f.relpath, s.path) or is_within(s.path, f.relpath)
        )
        _remove_empty_parents(project.root, f.relpath, scope_root, keep)
    for d in sorted(stray_dirs, key=len, reverse=True):
        with contextlib.suppress(OSError):
            (project.root / d).rmdir()
            scope_root = next(s.path for s in scopes if is_within(d, s.path))
            _remove_empty_parents(project.root, d, scope_root, keep)
    project.state.forget(f.relpath for f in deletes)

    made: set[str] = set()
    for target in writes:
        parent = target.relpath.rpartition("/")[0]
        if parent and parent not in made:
            (project.root / parent).mkdir(parents=True, exist_ok=True)
            made.add(parent)
    project.tmp_dir.mkdir(parents=True, exist_ok=True)
    writes.sort(key=lambda t: project.store.placement(t.id))  # packs read front to back
    progress.start("checking out", sum(t.size for t in writes), unit="bytes")
    started = project.state.clock()
    hardlink = project.settings.link == "hardlink"
    # Objects verified by an earlier hard-linked checkout are linked unread while unchanged.
    proofs = project.state.proofs() if hardlink else {}
    linked: list[tuple[ObjectId, os.stat_result]] = []  # appended from worker threads (atomic)

    corrupt: list[tuple[str, CorruptObject]] = []  # appended from worker threads (atomic)

    def write(target: Target) -> os.stat_result | None:
        try:
            object_stat = _materialise(project, target, hardlink, proofs)
        except CorruptObject as exc:  # refused, never placed: the other files still are
            corrupt.append((str(target.id), exc))
            return None
        progress.advance(target.size)
        if object_stat is not None:
            linked.append((target.id, object_stat))
        return os.stat(project.abspath(target.relpath))

    try:
        with ThreadPoolExecutor(scanner.jobs) as pool:
            keys = batched_map(pool, write, writes, lambda t: t.size)
    finally:
        progress.finish()
    done = [t for t, k in zip(writes, keys, strict=True) if k is not None]
    written = [k for k in keys if k is not None]
    for target in chmods:
        path = project.abspath(target.relpath)
        os.chmod(path, default_file_mode(target.executable))
        written.append(os.stat(path))
    # Files mlv just wrote have known content. Remembered as of the moment writing began, so
    # the racy-clean rule applies: an edit landing in the same timestamp tick as our write is
    # caught by one re-read at the next scan (old hard-linked objects are trusted at once).
    for target, st in zip([*done, *chmods], written, strict=True):
        project.state.record(target.relpath, StatKey.of(st), target.id, started.stamp(st.st_dev))
    for oid, st in linked:
        project.state.record_proof(oid, st, started.stamp(st.st_dev))
    for d in keep:
        (project.root / d).mkdir(parents=True, exist_ok=True)
    project.state.flush()
    if corrupt:
        raise corrupt[0][1] if len(corrupt) == 1 else CorruptObjects(sorted(corrupt))
    result.written = sorted(t.relpath for t in done)
    result.bytes_written = sum(t.size for t in done)
    return result


class CorruptObjects(CheckFailed):
    def __init__(self, corrupt: list[tuple[str, CorruptObject]]) -> None:
        ids = ", ".join(oid for oid, _ in corrupt[:5]) + (", ..." if len(corrupt) > 5 else "")
        super().__init__(
            f"{len(corrupt)} objects are corrupt (their bytes do not match their ids) and were"
            f" not restored: {ids}; every other file was",
            "run `mlv verify --repair` to fetch whole copies from the remote",
        )
        self.object_ids = [oid for oid, _ in corrupt]
