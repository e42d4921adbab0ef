"""What ``mlv import-dvc`` adopts: DVC's stages mapped to mlv's, or skipped with the reason,
and their data checked (and stored) output by output."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from mlv.adapters.dvc import DvcOut, DvcProject, DvcStage
from mlv.adapters.git import GitRepo
from mlv.core.dvc.objects import ImportedOutput, OutputProblem, bring_in
from mlv.core.progress import Progress
from mlv.errors import UsageError
from mlv.model.declarations import decode_declarations
from mlv.model.kinds import default_kind
from mlv.model.manifest import ArtifactRecord, Kind
from mlv.model.names import check_name
from mlv.model.paths import is_within
from mlv.model.stages import ParamSpec, StageDecl
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
    dvc_name: str = ""  # DVC's address of it: `prep`, `sub/dvc.yaml:copy`


@dataclass
class ImportResult:
    dry_run: bool
    artifacts: list[AdoptedArtifact] = field(default_factory=list)
    stages: list[AdoptedStage] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    written: bool = False


@dataclass
class Plan:
    artifacts: dict[str, tuple[DvcOut, str]] = field(default_factory=dict)  # path -> (out, source)
    stages: dict[str, tuple[DvcStage, StageDecl]] = field(default_factory=dict)  # by mlv name


def stage_decl(stage: DvcStage, name: str) -> StageDecl:
    """The mlv stage of a DVC stage. mlv runs every command at the root of the repository, so a
    stage of a nested ``dvc.yaml`` (or with ``wdir``) changes directory first; its paths are
    the root's already."""
    cmd = stage.cmd or ""
    if stage.wdir:
        cmd = f"cd {shlex.quote(stage.wdir)} && {cmd}"
    metrics = [o.path for o in stage.outs if o.metric and o.path.endswith(_STRUCTURED)]
    outs = [o.path for o in stage.outs if o.path not in metrics]
    kinds: dict[str, Kind] = {}
    return StageDecl(
        name,
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


def _nested_name(address: str) -> str:
    """``sub/dir/dvc.yaml:copy`` -> ``sub-dir-copy``: a valid mlv name for a nested stage."""
    file, _, inner = address.rpartition(":")
    parts = [*file.split("/")[:-1], inner]
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", "-".join(parts))
    return name if re.match(r"[A-Za-z0-9_]", name) else f"_{name}"


def mlv_names(stages: list[DvcStage], declared: dict[str, StageDecl]) -> dict[str, str]:
    """The mlv name of each DVC stage (by DVC's address). A stage of the root ``dvc.yaml`` keeps
    its name; a nested one gets its directory's path joined with ``-`` (``sub-copy``), with
    ``-2``, ``-3``... when that is taken by another stage. The same stage declared by an earlier
    import keeps the name it was given, so running again changes nothing."""
    pipeline = [s for s in stages if not s.data_source]
    names = {s.name: s.name for s in pipeline if ":" not in s.name}
    taken = set(names.values())
    for stage in sorted((s for s in pipeline if ":" in s.name), key=lambda s: s.name):
        base = _nested_name(stage.name)
        name, n = base, 1
        while name in taken or (
            name in declared and not _same(declared[name], stage_decl(stage, name))
        ):
            n += 1
            name = f"{base}-{n}"
        names[stage.name] = name
        taken.add(name)
    return names


def _stage_problem(
    stage: DvcStage, name: str, git: GitRepo, declared: dict[str, StageDecl]
) -> str | None:
    if stage.problems:
        return "; ".join(stage.problems)
    if stage.data_source:
        return None
    try:
        check_name(name, "stage")
    except UsageError as exc:
        return exc.message
    if name in declared and not _same(declared[name], stage_decl(stage, name)):
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


def _what(stage: DvcStage) -> str:
    return stage.source if stage.data_source else f"stage {stage.name} ({stage.source})"


def make_plan(dvc: DvcProject, git: GitRepo, text: str, result: ImportResult) -> Plan:
    plan = Plan()
    declared = dict(decode_declarations(text).stages)
    names = mlv_names(dvc.stages, declared)
    for stage in dvc.stages:
        name = names.get(stage.name, stage.name)
        problem = _stage_problem(stage, name, git, declared)
        if problem is not None:
            result.skipped.append(Skipped(_what(stage), problem))
        elif stage.data_source:
            for out in stage.outs:
                plan.artifacts[out.path] = (out, stage.source)
        else:
            plan.stages[name] = (stage, stage_decl(stage, name))
    result.skipped += [Skipped(what, why) for what, why in dvc.unmapped]
    return plan


def bring_data(
    dvc: DvcProject,
    plan: Plan,
    store: ObjectStore,
    result: ImportResult,
    *,
    dry_run: bool,
    progress: Progress,
) -> dict[str, ImportedOutput]:
    """Every output's data, checked (and stored). A stage with a bad output is dropped, and so
    is every stage that reads (directly or through other stages) an output that was not
    imported: a `.dvc` file skipped, or a dropped stage's."""
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
                result.skipped.append(Skipped(_what(stage), str(exc)))
                del plan.stages[name]
    finally:
        progress.finish()
    _drop_dependents(dvc, plan, result)
    kept = set(plan.artifacts) | {o.path for s, _ in plan.stages.values() for o in s.outs}
    return {p: i for p, i in imported.items() if p in kept}


def _drop_dependents(dvc: DvcProject, plan: Plan, result: ImportResult) -> None:
    """Drop the stages that read what is not imported, until none is left: a record of such a
    stage would say it is up to date while its input is neither in git nor in mlv.lock."""
    kept = set(plan.artifacts) | {o.path for s, _ in plan.stages.values() for o in s.outs}
    dropped = {o.path: _what(s) for s in dvc.stages for o in s.outs if o.path not in kept}
    changed = True
    while changed:
        changed = False
        for name, (stage, _) in sorted(plan.stages.items()):
            lost = [
                (d, p) for d in stage.deps for p in dropped if is_within(d, p) or is_within(p, d)
            ]
            if lost:
                dep, path = lost[0]
                result.skipped.append(
                    Skipped(
                        _what(stage),
                        f"it needs {dep}, and {path} was not imported ({dropped[path]})",
                    )
                )
                del plan.stages[name]
                dropped.update({o.path: _what(stage) for o in stage.outs})
                changed = True


def kinds_of(plan: Plan, text: str) -> dict[str, Kind]:
    """The kind of each path: as mlv.toml declares it already, else inferred from the path."""
    kinds: dict[str, Kind] = {p: default_kind(p) for p in plan.artifacts}
    for _, decl in plan.stages.values():
        kinds.update({o: default_kind(o) for o in decl.outs})
        kinds.update(dict.fromkeys(decl.metrics, "metrics"))
    declared = decode_declarations(text).artifacts
    kinds.update({p: declared[p].kind for p in kinds if p in declared})
    return kinds
