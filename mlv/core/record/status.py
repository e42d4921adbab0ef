"""``mlv status``: how the work tree differs from the work tree's mlv.lock."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from mlv.core import code
from mlv.core.env.capture import capture as capture_environment
from mlv.core.env.drift import EnvDrift
from mlv.core.env.drift import compare as compare_environment
from mlv.core.objects.trees import load_tree
from mlv.core.pipeline.staleness import StageState, decide, pipeline_states
from mlv.core.progress import NULL_PROGRESS, Progress
from mlv.core.project import Project
from mlv.core.workspace import dir_changes
from mlv.core.workspace.scanner import Scan, Scanner
from mlv.errors import MissingObjects, MlvError
from mlv.model.manifest import ArtifactRecord, Lock
from mlv.model.tree import Tree

# Artifact states, in the words status prints.
UNCHANGED = "unchanged"
MODIFIED = "modified"
DELETED = "deleted"
NEW = "not snapshotted"
MISSING = "missing"  # declared, never snapshotted, and absent
ORPHANED = "no longer tracked"  # in mlv.lock but not declared in mlv.toml


@dataclass
class ArtifactStatus:
    path: str
    kind: str
    state: str
    added: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    @property
    def stale(self) -> bool:
        return self.state != UNCHANGED


@dataclass
class StatusReport:
    artifacts: list[ArtifactStatus]
    snapshotted: bool
    stages: list[StageState] = field(default_factory=list)
    # Stages `mlv run` would refuse to run, and why (the same decision run makes).
    refusals: dict[str, MlvError] = field(default_factory=dict)
    environment: EnvDrift | None = None
    code_changed: bool | None = None  # None when there is no record to compare with

    @property
    def stale(self) -> bool:
        """True when an artifact differs from mlv.lock or a stage would run (--check fails)."""
        return any(a.stale for a in self.artifacts) or any(s.stale for s in self.stages)


def _compare_dir(status: ArtifactStatus, recorded: Tree, scan: Scan) -> None:
    now = {f.relpath[len(scan.path) + 1 :]: f for f in scan.files}
    before = recorded.by_path()
    for name, f in now.items():
        old = before.get(name)
        if old is None:
            status.added.append(name)
        elif old.id != f.id or old.executable != f.executable:
            status.modified.append(name)
    status.deleted = sorted(set(before) - set(now))
    status.added.sort()
    status.modified.sort()


def artifact_status(
    project: Project, path: str, kind: str, record: ArtifactRecord | None, scan: Scan | None
) -> ArtifactStatus:
    if record is None:
        return ArtifactStatus(path, kind, NEW if scan is not None else MISSING)
    if scan is None:
        return ArtifactStatus(path, kind, DELETED)
    status = ArtifactStatus(path, kind, UNCHANGED)
    if record.type == "file" and scan.type == "file":
        f = scan.files[0]
        if f.id != record.id or f.executable != record.executable:
            status.state = MODIFIED
        return status
    if record.type != scan.type:
        status.state = MODIFIED
        return status
    if scan.object_id() == record.id:
        return status
    read = project.store.read_bytes
    changes = dir_changes.compare(scan, record.id, read)  # the changed directories alone
    if changes is not None:
        if not changes.none:
            status.state = MODIFIED
            status.added, status.modified = changes.added, changes.modified
            status.deleted = changes.deleted
        return status
    if scan.legacy_twin(record.id, read):
        return status  # a format 1 tree of the same content (docs/format.md)
    status.state = MODIFIED
    # Without the tree object (never fetched) we know that it differs, not where.
    with contextlib.suppress(MissingObjects):
        _compare_dir(status, load_tree(read, record.id), scan)
    return status


def status(
    project: Project,
    *,
    include_environment: bool = True,
    include_code: bool = True,
    progress: Progress = NULL_PROGRESS,
) -> StatusReport:
    """Compare artifacts (and environment and code) with the work tree's mlv.lock."""
    lock = project.read_lock()
    recorded = lock or Lock()
    scanner = Scanner(project.root, project.state, jobs=project.settings.jobs, progress=progress)
    results = []
    declared = project.declarations.artifacts
    for path in sorted(set(declared) | set(recorded.artifacts)):
        record = recorded.artifacts.get(path)
        if path not in declared:
            assert record is not None
            results.append(ArtifactStatus(path, record.kind, ORPHANED))
            continue
        results.append(
            artifact_status(project, path, declared[path].kind, record, scanner.scan(path))
        )
    stages = pipeline_states(project, recorded, scanner) if project.declarations.stages else []
    report = StatusReport(results, lock is not None, stages)
    for stage in stages:
        refusal = decide(project, recorded, scanner, stage, force=False).refusal
        if refusal is not None:
            report.refusals[stage.name] = refusal
    project.state.flush()
    if lock is not None and include_environment and lock.environment is not None:
        current = capture_environment(project.root, project.declarations.env_variables, None)
        report.environment = compare_environment(lock.environment, current)
    if lock is not None and include_code and lock.code is not None:
        state = code.current_state(project.git, project.tmp_dir)
        report.code_changed = state.tree != lock.code.tree
    return report
