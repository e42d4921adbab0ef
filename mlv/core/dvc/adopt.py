"""``mlv import-dvc``: adopt a DVC project's ``.dvc`` files, ``dvc.yaml`` stages and ``dvc.lock``.

``.dvc`` outputs become artifacts, ``dvc.yaml`` stages become stages (their outputs artifacts),
and their data moves from DVC's cache into mlv's store, MD5 checked on the way. A stage gets a
record in mlv.lock only when DVC itself says it is up to date (``dvc status``), so the record is
as true as DVC's. What cannot be mapped is listed with the reason. mlv.toml and mlv.lock are
written once, at the end, after every check: a failure leaves them as they were. DVC's files are
never written.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import msgspec

from mlv.adapters.dvc import DvcProject, read_project
from mlv.adapters.git import GitRepo, find_toplevel
from mlv.core.declare import gitignore
from mlv.core.declare.init import init
from mlv.core.dvc.objects import ImportedOutput
from mlv.core.dvc.plan import (
    AdoptedArtifact,
    AdoptedStage,
    ImportResult,
    Plan,
    bring_data,
    kinds_of,
    make_plan,
)
from mlv.core.objects.sharing import using_store
from mlv.core.objects.trees import iter_files
from mlv.core.pipeline.params import metric_values, param_values
from mlv.core.pipeline.staleness import path_id
from mlv.core.progress import NULL_PROGRESS, Progress
from mlv.core.project import Project, open_project
from mlv.core.workspace.scanner import Scanner
from mlv.errors import MlvError, UsageError
from mlv.model.declarations import (
    DECLARATIONS_FILE,
    decode_declarations,
    template,
    with_artifact,
    with_stage,
)
from mlv.model.ids import ObjectId
from mlv.model.manifest import ArtifactRecord, Kind, Lock, StageRecord
from mlv.model.stages import validate_pipeline
from mlv.storage.fsutil import write_bytes_atomic
from mlv.storage.lock import exclusive
from mlv.storage.store import ObjectStore


def _record(out: ImportedOutput, kind: Kind) -> ArtifactRecord:
    return ArtifactRecord(
        kind=kind,
        type=out.type,
        id=out.id,
        size=out.size,
        files=out.files,
        executable=out.executable,
    )


def _declarations(text: str, plan: Plan, kinds: dict[str, Kind]) -> str:
    """mlv.toml with the plan declared; what it declares already (a second run) is kept as is."""
    declared = decode_declarations(text)
    for path in sorted(plan.artifacts):
        if path not in declared.artifacts:
            text = with_artifact(text, path, kinds[path])
    for _, decl in plan.stages.values():
        if decl.name not in declared.stages:
            text = with_stage(text, decl, {o: kinds[o] for o in decl.outputs})
    declarations = decode_declarations(text)  # the result must read back as a valid project
    validate_pipeline(declarations.stages)
    return text


def _stage_records(
    project: Project,
    dvc: DvcProject,
    plan: Plan,
    imported: dict[str, ImportedOutput],
    result: ImportResult,
) -> dict[str, StageRecord]:
    """Records for the stages DVC calls up to date: ids of the imported data, the rest (code,
    params, metrics) as the work tree holds it, which is what DVC just checked."""
    inner: dict[str, ObjectId] = {}
    for out in imported.values():
        if out.type == "dir":
            files = iter_files(project.store.read_bytes, out.id)
            inner.update({f"{out.path}/{e.path}": e.id for e in files})
    scanner = Scanner(project.root, project.state, jobs=project.settings.jobs)
    records: dict[str, StageRecord] = {}
    for name, (stage, decl) in sorted(plan.stages.items()):
        note = None
        changed = dvc.changed.get(stage.name)
        if changed:
            note = f"DVC reports it changed ({changed}); `mlv run {name}` records it"
        elif stage.frozen:
            note = "frozen in DVC; mlv has no frozen stages, `mlv run` re-runs it when stale"
        if changed:
            result.stages.append(AdoptedStage(name, decl, False, note, stage.name))
            continue
        deps: dict[str, ObjectId] = {}
        try:
            for dep in decl.deps:
                oid = imported[dep].id if dep in imported else inner.get(dep)
                oid = oid or path_id(scanner, dep)
                if oid is None:
                    raise UsageError(f"dependency {dep} is missing from the work tree")
                deps[dep] = oid
            record = StageRecord(
                cmd=decl.cmd,
                deps=deps,
                outs={o: imported[o].id for o in decl.outputs},
                params=param_values(project.root, decl.params),
                metrics=metric_values(project.root, decl.metrics),
            )
        except MlvError as exc:
            note = f"no record: {exc.message}"
            result.stages.append(AdoptedStage(name, decl, False, note, stage.name))
            continue
        records[name] = record
        result.stages.append(AdoptedStage(name, decl, True, note, stage.name))
    project.state.flush()
    return records


def import_dvc(
    start: Path | None = None, *, dry_run: bool = False, progress: Progress = NULL_PROGRESS
) -> ImportResult:
    """Adopt the DVC project of the work tree around ``start`` (default: current directory).

    With ``dry_run`` everything is read and checked (MD5s included) and nothing is written.
    """
    root = find_toplevel(start or Path.cwd())
    dvc = read_project(root)
    result = ImportResult(dry_run)
    toml = root / DECLARATIONS_FILE
    text = toml.read_text(encoding="utf-8") if toml.exists() else template()
    plan = make_plan(dvc, GitRepo(root), text, result)
    if not plan.artifacts and not plan.stages:
        raise _nothing(result)
    if dry_run:
        store = ObjectStore(root / ".mlv" / "cache")  # read only: nothing is stored
        imported = bring_data(dvc, plan, store, result, dry_run=True, progress=progress)
        if not imported:
            raise _nothing(result)
        _fill_dry(result, plan, imported, dvc, text)
        return result
    created = init(root).created
    project = open_project(root)
    try:
        with exclusive(project.process_lock), using_store(project):
            imported = bring_data(
                dvc, plan, project.store, result, dry_run=False, progress=progress
            )
            if not imported:
                if created:
                    with contextlib.suppress(FileNotFoundError):
                        toml.unlink()
                raise _nothing(result)
            _write(project, dvc, plan, imported, text, result)
    finally:
        project.close()
    return result


def _fill_dry(
    result: ImportResult,
    plan: Plan,
    imported: dict[str, ImportedOutput],
    dvc: DvcProject,
    text: str,
) -> None:
    result.artifacts.extend(_adopted(plan, imported, kinds_of(plan, text)))
    for name, (stage, decl) in sorted(plan.stages.items()):
        changed = dvc.changed.get(stage.name)
        note = (
            f"DVC reports it changed ({changed}); `mlv run {name}` records it" if changed else None
        )
        result.stages.append(AdoptedStage(name, decl, changed is None, note, stage.name))


def _adopted(
    plan: Plan, imported: dict[str, ImportedOutput], kinds: dict[str, Kind]
) -> list[AdoptedArtifact]:
    """Every imported artifact (`.dvc` outputs and stage outputs), sorted by path: what a dry
    run lists and what a real import records."""
    sources = [(p, source) for p, (_, source) in plan.artifacts.items()] + [
        (o, stage.source) for stage, decl in plan.stages.values() for o in decl.outputs
    ]
    return sorted(
        (
            AdoptedArtifact(
                p, kinds[p], _record(imported[p], kinds[p]), source, imported[p].from_workspace
            )
            for p, source in sources
        ),
        key=lambda a: a.path,
    )


def _write(
    project: Project,
    dvc: DvcProject,
    plan: Plan,
    imported: dict[str, ImportedOutput],
    text: str,
    result: ImportResult,
) -> None:
    kinds = kinds_of(plan, text)
    new_text = _declarations(text, plan, kinds)
    # Records are made against the new declarations (the stage's outputs as artifacts).
    project.declarations = decode_declarations(new_text)
    records = _stage_records(project, dvc, plan, imported, result)
    adopted = _adopted(plan, imported, kinds)
    result.artifacts.extend(adopted)
    artifacts = {a.path: a.record for a in adopted}
    old = project.read_lock() or Lock()
    lock = msgspec.structs.replace(
        old,
        artifacts={**old.artifacts, **artifacts},
        stages={**old.stages, **records},
    )
    project.store.sync_written()  # on disk before a manifest names them
    toml = project.root / DECLARATIONS_FILE
    write_bytes_atomic(toml, new_text.encode("utf-8"), durable=False, tmp_dir=project.tmp_dir)
    gitignore.update(project.root, add=sorted(artifacts))
    project.write_lock(lock)
    result.written = True


def _nothing(result: ImportResult) -> UsageError:
    error = UsageError(
        "nothing in this DVC project could be imported",
        "fix what is listed (`dvc status`, `dvc pull`), then run mlv import-dvc again",
    )
    error.details = tuple(f"{s.what}: {s.reason}" for s in result.skipped)
    return error
