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
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from mlv.adapters.dvc import DvcOut, DvcProject, DvcStage, read_project
from mlv.adapters.git import GitRepo, find_toplevel
from mlv.core import gitignore
from mlv.core.dvc.objects import ImportedOutput, OutputProblem, bring_in
from mlv.core.init import init
from mlv.core.params import metric_values, param_values
from mlv.core.pipeline import path_id
from mlv.core.progress import NULL_PROGRESS, Progress
from mlv.core.project import Project, open_project
from mlv.core.sharing import using_store
from mlv.core.workspace import Scanner
from mlv.errors import MlvError, UsageError
from mlv.model.declarations import (
    DECLARATIONS_FILE,
    decode_declarations,
    template,
    with_artifact,
    with_stage,
)
from mlv.model.ids import ObjectId
from mlv.model.kinds import default_kind
from mlv.model.manifest import ArtifactRecord, Kind, Lock, StageRecord
from mlv.model.names import check_name
from mlv.model.paths import is_within
from mlv.model.stages import ParamSpec, StageDecl, validate_pipeline
from mlv.model.tree import Tree
from mlv.storage.fsutil import write_bytes_atomic
from mlv.storage.lock import exclusive
from mlv.storage.store import ObjectStore

_STRUCTURED = (".json", ".yaml", ".yml", ".toml")


@dataclass(frozen=True, slots=True)
class Skipped:
    what: str  # "stage train", "data/raw.dvc", "plot ...", "remote ..."
    reason: str


@dataclass(frozen=True, slots=True)
class AdoptedArtifact:
    path: str
    kind: Kind
    record: ArtifactRecord
    source: str  # the DVC file that declared it
    from_workspace: int  # files taken from the work tree (not in DVC's cache)


@dataclass(frozen=True, slots=True)
class AdoptedStage:
    name: str
    decl: StageDecl
    recorded: bool  # has a record in mlv.lock (DVC says it is up to date)
    note: str | None = None  # why it has no record, or what differs (frozen)


@dataclass
class ImportResult:
    dry_run: bool
    artifacts: list[AdoptedArtifact] = field(default_factory=list)
    stages: list[AdoptedStage] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    written: bool = False


@dataclass
class _Plan:
    artifacts: dict[str, tuple[DvcOut, str]] = field(default_factory=dict)  # path -> (out, source)
    stages: dict[str, tuple[DvcStage, StageDecl]] = field(default_factory=dict)


def _decl(stage: DvcStage) -> StageDecl:
    cmd = stage.cmd or ""
    if stage.wdir:
        cmd = f"cd {stage.wdir} && {cmd}"
    metrics = [o.path for o in stage.outs if o.metric and o.path.endswith(_STRUCTURED)]
    outs = [o.path for o in stage.outs if o.path not in metrics]
    kinds: dict[str, Kind] = {}
    return StageDecl(
        stage.name,
        cmd,
        tuple(stage.deps),
        tuple(outs),
        tuple(ParamSpec(p.file, p.keys) for p in stage.params),
        tuple(metrics),
        kinds,
    )


def _same(a: StageDecl, b: StageDecl) -> bool:
    """The same stage, whatever kinds were given to its outputs since."""
    return (a.cmd, a.deps, a.outs, a.params, a.metrics) == (
        b.cmd,
        b.deps,
        b.outs,
        b.params,
        b.metrics,
    )


def _stage_problem(stage: DvcStage, git: GitRepo, declared: dict[str, StageDecl]) -> str | None:
    if stage.problems:
        return "; ".join(stage.problems)
    if stage.data_source:
        return None
    try:
        check_name(stage.name, "stage")
    except UsageError as exc:
        return exc.message
    if stage.name in declared and not _same(declared[stage.name], _decl(stage)):
        # The same stage again (import-dvc run twice, or after an interruption) is no conflict.
        return "mlv.toml already declares a different stage of that name"
    if not stage.cmd:
        return "it has no command"
    for p in stage.params:
        if not p.file.endswith(_STRUCTURED):
            return f"params file {p.file}: mlv reads params from JSON, YAML or TOML files"
    for out in stage.outs:
        if git.tracked_under(out.path):
            return (
                f"output {out.path} is tracked by git (DVC `cache: false`); mlv keeps outputs"
                f" out of git: `git rm --cached {out.path}`, then run import-dvc again"
            )
    return None


def _plan(dvc: DvcProject, git: GitRepo, text: str, result: ImportResult) -> _Plan:
    plan = _Plan()
    declared = decode_declarations(text)
    for stage in dvc.stages:
        what = stage.source if stage.data_source else f"stage {stage.name} ({stage.source})"
        problem = _stage_problem(stage, git, dict(declared.stages))
        if problem is not None:
            result.skipped.append(Skipped(what, problem))
        elif stage.data_source:
            for out in stage.outs:
                plan.artifacts[out.path] = (out, stage.source)
        else:
            plan.stages[stage.name] = (stage, _decl(stage))
    result.skipped += [Skipped(what, why) for what, why in dvc.unmapped]
    return plan


def _bring_data(
    dvc: DvcProject,
    plan: _Plan,
    store: ObjectStore,
    result: ImportResult,
    *,
    dry_run: bool,
    progress: Progress,
) -> dict[str, ImportedOutput]:
    """Every output's data, checked (and stored); a stage with a bad output is dropped, and so
    is every stage that needs what a dropped stage makes."""
    imported: dict[str, ImportedOutput] = {}
    outputs = len(plan.artifacts) + sum(len(s.outs) for s, _ in plan.stages.values())
    progress.start("importing DVC's data", outputs, unit="outputs")
    try:
        for path, (out, source) in sorted(plan.artifacts.items()):
            try:
                imported[path] = bring_in(store, dvc.root, out, dry_run=dry_run)
            except OutputProblem as exc:
                result.skipped.append(Skipped(source, str(exc)))
                del plan.artifacts[path]
            progress.advance()
        for name, (stage, _) in sorted(plan.stages.items()):
            try:
                for out in stage.outs:
                    imported[out.path] = bring_in(store, dvc.root, out, dry_run=dry_run)
                    progress.advance()
            except OutputProblem as exc:
                result.skipped.append(Skipped(f"stage {name} ({stage.source})", str(exc)))
                del plan.stages[name]
    finally:
        progress.finish()
    dropped = {
        o.path
        for s in dvc.stages
        if not s.data_source and s.name not in plan.stages
        for o in s.outs
    }
    changed = True
    while changed:
        changed = False
        for name, (stage, _) in sorted(plan.stages.items()):
            lost = [d for d in stage.deps if any(is_within(d, p) for p in dropped)]
            if lost:
                result.skipped.append(
                    Skipped(
                        f"stage {name} ({stage.source})",
                        f"it needs {lost[0]}, made by a stage that was not imported",
                    )
                )
                del plan.stages[name]
                dropped |= {o.path for o in stage.outs}
                changed = True
    kept = set(plan.artifacts) | {o.path for s, _ in plan.stages.values() for o in s.outs}
    return {p: i for p, i in imported.items() if p in kept}


def _record(out: ImportedOutput, kind: Kind) -> ArtifactRecord:
    return ArtifactRecord(
        kind=kind,
        type=out.type,
        id=out.id,
        size=out.size,
        files=out.files,
        executable=out.executable,
    )


def _declarations(text: str, plan: _Plan, kinds: dict[str, Kind]) -> str:
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
    plan: _Plan,
    imported: dict[str, ImportedOutput],
    result: ImportResult,
) -> dict[str, StageRecord]:
    """Records for the stages DVC calls up to date: ids of the imported data, the rest (code,
    params, metrics) as the work tree holds it, which is what DVC just checked."""
    inner: dict[str, ObjectId] = {}
    for out in imported.values():
        if out.type == "dir":
            tree = Tree.decode(project.store.read_bytes(out.id))
            inner.update({f"{out.path}/{e.path}": e.id for e in tree.entries})
    scanner = Scanner(project.root, project.state, jobs=project.settings.jobs)
    records: dict[str, StageRecord] = {}
    for name, (stage, decl) in sorted(plan.stages.items()):
        note = None
        if name in dvc.changed:
            note = f"DVC reports it changed ({dvc.changed[name]}); `mlv run {name}` records it"
        elif stage.frozen:
            note = "frozen in DVC; mlv has no frozen stages, `mlv run` re-runs it when stale"
        if name in dvc.changed:
            result.stages.append(AdoptedStage(name, decl, False, note))
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
            result.stages.append(AdoptedStage(name, decl, False, f"no record: {exc.message}"))
            continue
        records[name] = record
        result.stages.append(AdoptedStage(name, decl, True, note))
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
    plan = _plan(dvc, GitRepo(root), text, result)
    if not plan.artifacts and not plan.stages:
        raise _nothing(result)
    if dry_run:
        store = ObjectStore(root / ".mlv" / "cache")  # read only: nothing is stored
        imported = _bring_data(dvc, plan, store, result, dry_run=True, progress=progress)
        if not imported:
            raise _nothing(result)
        _fill_dry(result, plan, imported, dvc, text)
        return result
    created = init(root).created
    project = open_project(root)
    try:
        with exclusive(project.process_lock), using_store(project):
            imported = _bring_data(
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


def _kinds(plan: _Plan, text: str) -> dict[str, Kind]:
    """The kind of each path: as mlv.toml declares it already, else inferred from the path."""
    kinds: dict[str, Kind] = {p: default_kind(p) for p in plan.artifacts}
    for _, decl in plan.stages.values():
        kinds.update({o: default_kind(o) for o in decl.outs})
        kinds.update(dict.fromkeys(decl.metrics, "metrics"))
    declared = decode_declarations(text).artifacts
    kinds.update({p: declared[p].kind for p in kinds if p in declared})
    return kinds


def _fill_dry(
    result: ImportResult,
    plan: _Plan,
    imported: dict[str, ImportedOutput],
    dvc: DvcProject,
    text: str,
) -> None:
    kinds = _kinds(plan, text)
    for path, (_, source) in sorted(plan.artifacts.items()):
        out = imported[path]
        result.artifacts.append(
            AdoptedArtifact(
                path, kinds[path], _record(out, kinds[path]), source, out.from_workspace
            )
        )
    for name, (stage, decl) in sorted(plan.stages.items()):
        for o in decl.outputs:
            out = imported[o]
            result.artifacts.append(
                AdoptedArtifact(
                    o, kinds[o], _record(out, kinds[o]), stage.source, out.from_workspace
                )
            )
        changed = dvc.changed.get(name)
        note = (
            f"DVC reports it changed ({changed}); `mlv run {name}` records it" if changed else None
        )
        result.stages.append(AdoptedStage(name, decl, changed is None, note))


def _write(
    project: Project,
    dvc: DvcProject,
    plan: _Plan,
    imported: dict[str, ImportedOutput],
    text: str,
    result: ImportResult,
) -> None:
    kinds = _kinds(plan, text)
    new_text = _declarations(text, plan, kinds)
    # Records are made against the new declarations (the stage's outputs as artifacts).
    project.declarations = decode_declarations(new_text)
    records = _stage_records(project, dvc, plan, imported, result)
    artifacts = {}
    for path, source in [(p, s) for p, (_, s) in plan.artifacts.items()] + [
        (o, stage.source) for stage, decl in plan.stages.values() for o in decl.outputs
    ]:
        out = imported[path]
        artifacts[path] = _record(out, kinds[path])
        result.artifacts.append(
            AdoptedArtifact(path, kinds[path], artifacts[path], source, out.from_workspace)
        )
    result.artifacts.sort(key=lambda a: a.path)
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
