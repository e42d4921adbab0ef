"""The two versions ``mlv diff`` compares: a revision's mlv.lock, or the work tree as it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from mlv.core.objects.trees import load_tree
from mlv.core.pipeline.params import metric_values, param_values
from mlv.core.project import Project
from mlv.core.tables.records import scanned_tables, summary_of
from mlv.core.workspace.artifacts import artifact_record
from mlv.core.workspace.scanner import Scanner
from mlv.errors import MlvError
from mlv.model.ids import ObjectId
from mlv.model.manifest import ArtifactRecord, StageRecord, TableRecord
from mlv.model.summary import table_format


@dataclass
class Side:
    label: str
    commit: str | None
    project: Project
    artifacts: dict[str, ArtifactRecord]
    stages: dict[str, StageRecord]
    tables: dict[str, TableRecord]
    workspace: bool = False
    _listings: dict[str, dict[str, ObjectId] | None] = field(default_factory=dict)

    def listing(self, path: str) -> dict[str, ObjectId] | None:
        """The files of a directory artifact (relative path -> id); None if not available."""
        if path not in self._listings:
            record = self.artifacts[path]
            try:
                tree = load_tree(self.project.store.read_bytes, record.id)
            except MlvError:
                self._listings[path] = None
            else:
                self._listings[path] = {e.path: e.id for e in tree.entries}
        return self._listings[path]

    def forget_listings(self) -> None:
        if not self.workspace:
            self._listings.clear()

    def table_paths(self) -> set[str]:
        paths = set(self.tables)
        paths.update(p for p, a in self.artifacts.items() if a.type == "file")
        return paths

    def file_id(self, path: str) -> ObjectId | None:
        if path in self.tables:
            return self.tables[path].file
        artifact = self.artifacts.get(path)
        if artifact is not None:
            return artifact.id if artifact.type == "file" else None
        for root, record in self.artifacts.items():
            if record.type == "dir" and path.startswith(root + "/"):
                listing = self.listing(root)
                return None if listing is None else listing.get(path[len(root) + 1 :])
        return None

    def local(self, path: str) -> Path | None:
        """Where the bytes of the table at ``path`` are on this machine, if anywhere."""
        if self.workspace:
            return self.project.abspath(path)
        file_id = self.file_id(path)
        if file_id is None or not self.project.store.exists(file_id):
            return None
        return self.project.store.readable(file_id)


def revision_side(project: Project, rev: str) -> Side:
    commit, lock = project.lock_at(rev)
    return Side(rev, commit, project, dict(lock.artifacts), dict(lock.stages), lock.table_records)


def workspace_side(project: Project) -> Side:
    """The declared artifacts as they are now (hashed through the stat cache), their tables
    summarised (and stored, so the next diff or snapshot reuses them), params and metrics read
    from the declared files."""
    lock = project.read_lock()
    scanner = Scanner(project.root, project.state, jobs=project.settings.jobs)
    artifacts: dict[str, ArtifactRecord] = {}
    listings: dict[str, dict[str, ObjectId] | None] = {}
    scans = []
    for path, artifact in sorted(project.declarations.artifacts.items()):
        scan = scanner.scan(path)
        if scan is None:
            continue
        scans.append(scan)
        artifacts[path] = artifact_record(artifact.kind, scan)
        if scan.type == "dir":
            listings[path] = {f.relpath[len(path) + 1 :]: f.id for f in scan.files}
    project.state.flush()
    config = project.declarations.tables
    tables = {}
    for path, (file_id, size) in scanned_tables(scans).items():
        if config.wants(path, size):
            reader = table_format(path) or ""
            summary = summary_of(project.store, project.abspath(path), file_id, reader)
            tables[path] = TableRecord(file_id, summary)
    stages = dict(lock.stages) if lock is not None else {}
    for name, decl in project.declarations.stages.items():
        record = stages.get(name) or StageRecord(cmd=decl.cmd, deps={}, outs={})
        try:
            params = param_values(project.root, decl.params)
        except MlvError:
            params = record.params
        try:
            metrics = metric_values(project.root, decl.metrics)
        except MlvError:
            metrics = record.metrics
        stages[name] = msgspec.structs.replace(record, params=params, metrics=metrics)
    side = Side("workspace", None, project, artifacts, stages, tables, workspace=True)
    side._listings.update(listings)
    return side
