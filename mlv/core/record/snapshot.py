"""``mlv snapshot``: hash and store every artifact, record environment and code, write mlv.lock.

Order matters for crash safety: objects are stored (and synced to disk) before mlv.lock names
them, and mlv.lock is replaced atomically, so an interrupted snapshot leaves the old manifest and
a store with extra (complete) objects; running it again completes the work.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from mlv.core import code
from mlv.core.env.capture import capture as capture_environment
from mlv.core.installation import writer_record
from mlv.core.objects.sharing import using_store
from mlv.core.pipeline.staleness import RecordCheck, StageState, check_records, path_id
from mlv.core.progress import NULL_PROGRESS, Progress
from mlv.core.project import CONFIG_FILE, MLV_DIR, Project, lock_size_check
from mlv.core.tables.records import table_records
from mlv.core.workspace.artifacts import artifact_record, scan_declared, store_scans, table_files
from mlv.core.workspace.scanner import Scan, Scanner
from mlv.errors import MlvError
from mlv.model.declarations import DECLARATIONS_FILE
from mlv.model.ids import ObjectId
from mlv.model.manifest import (
    LOCK_FILE,
    ArtifactRecord,
    CodeRecord,
    Lock,
    canonical_lock,
    decode_lock,
    encode_lock,
)
from mlv.storage.lock import exclusive

# Files mlv writes and a snapshot commit carries along with mlv.lock.
MANAGED_FILES = (DECLARATIONS_FILE, ".gitignore", CONFIG_FILE, f"{MLV_DIR}/.gitignore")


@dataclass(frozen=True, slots=True)
class ArtifactChange:
    path: str
    record: ArtifactRecord
    change: str  # "new", "modified" or "unchanged"


@dataclass
class SnapshotResult:
    lock: Lock
    artifacts: list[ArtifactChange]
    objects_added: int = 0
    bytes_added: int = 0
    lock_changed: bool = False
    commit: str | None = None
    warnings: list[str] = field(default_factory=list)
    stages: list[StageState] = field(default_factory=list)  # every declared stage
    dropped_stages: list[str] = field(default_factory=list)  # records of undeclared stages

    @property
    def marked_stale(self) -> list[StageState]:
        """The stages whose record this snapshot marks stale in mlv.lock."""
        return [s for s in self.stages if s.marked]


def _previous_snapshot(project: Project) -> Lock | None:
    """The manifest committed at HEAD: `mlv run` may have updated the work tree's already."""
    head = project.git.head()
    data = project.git.read_blob(head, LOCK_FILE, check_size=lock_size_check) if head else None
    if data is None:
        return None
    try:
        return decode_lock(data, source=f"{LOCK_FILE} at HEAD")
    except MlvError:
        return None


def _check_stages(
    project: Project,
    old: Lock,
    scanner: Scanner,
    scans: dict[str, Scan],
    records: dict[str, ArtifactRecord],
) -> RecordCheck:
    """The stage records this snapshot writes: each matches the artifacts or is marked stale.

    A path is judged by the id recorded for it here (an artifact, or a file inside one), so
    the manifest agrees with itself; other paths (code in git) as they are in the work tree.
    """
    read = project.store.read_bytes

    def id_of(path: str) -> ObjectId | None:
        if path in records:
            return records[path].id
        inside = next((s for p, s in scans.items() if path.startswith(p + "/")), None)
        if inside is not None and inside.type == "dir":
            entry = inside.entries_at([path], read).get(path)
            if entry is not None:
                return entry.id
        return path_id(scanner, path)

    def twin(path: str, recorded: ObjectId) -> bool:
        scan = scans.get(path) or scanner.scan(path)
        return scan is not None and scan.type == "dir" and scan.legacy_twin(recorded, read)

    return check_records(project, old, scanner, id_of, twin)


def snapshot(
    project: Project,
    *,
    message: str | None = None,
    commit: bool = True,
    progress: Progress = NULL_PROGRESS,
) -> SnapshotResult:
    """Record the current artifacts, environment and code in mlv.lock (and commit it)."""
    with exclusive(project.process_lock), using_store(project):
        old = project.read_lock() or Lock()
        previous = _previous_snapshot(project) or Lock()  # what "new/modified" is relative to
        scanner = Scanner(
            project.root, project.state, jobs=project.settings.jobs, progress=progress
        )
        scans = scan_declared(project, scanner, old)
        added, added_bytes = store_scans(project, list(scans.values()), scanner.jobs, progress)
        project.state.flush()
        records, changes = _artifact_records(project, scans, old, previous)
        stage_check = _check_stages(project, old, scanner, scans, records)
        project.state.flush()
        lock = _new_lock(project, old, scans, records, stage_check, commit, progress)

        result = SnapshotResult(lock, changes, added, added_bytes)
        result.stages, result.dropped_stages = stage_check.states, stage_check.dropped
        result.lock_changed = encode_lock(lock) != encode_lock(old)
        # On disk before a manifest names them: a power cut must not leave a committed
        # mlv.lock naming objects that never reached the disk.
        project.store.sync_written()
        if result.lock_changed:
            project.write_lock(lock)
        result.warnings = _code_warnings(project, lock.code)
        if commit:
            project.git.add([LOCK_FILE])
            if project.git.has_staged_changes():
                result.commit = project.git.commit(message or "mlv snapshot")
        return result


def _artifact_records(
    project: Project, scans: dict[str, Scan], old: Lock, previous: Lock
) -> tuple[dict[str, ArtifactRecord], list[ArtifactChange]]:
    """Each artifact's record, and how it changed since the snapshot at HEAD."""
    changes = []
    records = {}
    for path, scan in scans.items():
        record = artifact_record(project.declarations.artifacts[path].kind, scan)
        kept = old.artifacts.get(path)
        if (
            record.type == "dir"
            and kept is not None
            and kept.type == "dir"
            and kept.id != record.id
            and scan.legacy_twin(kept.id, project.store.read_bytes)
        ):
            # An older mlv's format 1 tree of the same content: kept, so upgrading mlv does
            # not rewrite mlv.lock (docs/format.md).
            record = msgspec.structs.replace(record, id=kept.id)
        records[path] = record
        before = previous.artifacts.get(path)
        change = "new" if before is None else ("unchanged" if before == record else "modified")
        changes.append(ArtifactChange(path, record, change))
    return records, changes


def _new_lock(
    project: Project,
    old: Lock,
    scans: dict[str, Scan],
    records: dict[str, ArtifactRecord],
    stage_check: RecordCheck,
    commit: bool,
    progress: Progress,
) -> Lock:
    """The manifest to write: artifacts and stages as checked, environment, code, tables.

    Records that describe the same thing as the old manifest's are kept as they are, so a
    snapshot of an unchanged project changes nothing.
    """
    env = capture_environment(project.root, project.declarations.env_variables, project.store)
    if old.environment is not None and old.environment.fingerprint == env.fingerprint:
        env = old.environment
    if commit:
        project.git.add(list(MANAGED_FILES))
    code_record = _code_record(project, old, commit)
    tables = table_records(
        project, table_files(project, scans.values()), old.table_records, progress=progress
    )
    lock = Lock(
        artifacts=records,
        stages=stage_check.stages,
        environment=env,
        code=code_record,
        mlv=writer_record(),
        tables=tables or msgspec.UNSET,
    )
    return canonical_lock(lock)  # the result holds what mlv.lock says


def _code_record(project: Project, old: Lock, commit: bool) -> CodeRecord:
    """The code's record: its commit, and the patch of what is not committed."""
    state = code.current_state(project.git, project.tmp_dir)
    # With a commit, staged changes land in it; only unstaged ones stay uncommitted.
    # Without one, any difference from HEAD (the patch) is uncommitted.
    dirty = project.git.has_unstaged_changes(exclude=LOCK_FILE) if commit else True
    if old.code is not None and old.code.tree == state.tree and old.code.dirty == dirty:
        # The same code as last time: its record (base commit + patch) still describes it.
        return old.code
    return code.record(project.git, state, project.store, dirty=dirty)


def _code_warnings(project: Project, code_record: CodeRecord | None) -> list[str]:
    """What the code record leaves out or had to patch in, for the user to know."""
    warnings = []
    if code_record is not None and code_record.dirty:
        warnings.append(
            "tracked code has uncommitted changes; they are recorded as a patch "
            f"({code_record.patch}) so the run can be reproduced"
        )
    untracked = [
        p for p in project.git.untracked_files() if p != LOCK_FILE and p not in MANAGED_FILES
    ]
    if untracked:
        warnings.append(
            f"{len(untracked)} file(s) unknown to git are not part of the code record "
            f"(e.g. {untracked[0]}); `git add` them if the run needs them"
        )
    return warnings
