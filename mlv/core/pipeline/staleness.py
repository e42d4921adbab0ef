"""Which stages are stale, and why: the comparison of declarations and work tree with mlv.lock.

A stage is stale when it never ran, its command changed, a dependency's content or a declared
param's value differs from what was recorded, or an output is missing or was changed by hand.
`mlv status`, `mlv run` (and its dry run) and the pre-commit hook ask the same question here, and
`mlv snapshot` asks it of the artifacts it records, marking in mlv.lock each record that differs.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from mlv.core.pipeline.interrupted import OutputIds, RunMarker, StillRunning
from mlv.core.pipeline.params import param_values
from mlv.core.project import Project
from mlv.core.workspace.scanner import Scanner
from mlv.errors import CheckFailed, MlvError, UsageError
from mlv.model.ids import ObjectId
from mlv.model.manifest import Lock, StageRecord
from mlv.model.paths import is_within
from mlv.model.stages import StageDecl, producers, topological_order

# The content id of a path as the caller sees it (None: absent). `mlv run` and `mlv status` look
# at the work tree; `mlv snapshot` answers with the ids it is recording for its artifacts.
IdOf = Callable[[str], ObjectId | None]
# Whether a recorded id that differs from the path's id names the same content anyway: a flat
# format 1 tree an older mlv wrote for a directory now read as format 2 (docs/format.md).
Twin = Callable[[str, ObjectId], bool]


@dataclass
class StageState:
    name: str
    reasons: list[str] = field(default_factory=list)  # own reasons, then upstream ones
    own: list[str] = field(default_factory=list)  # how the stage's own record differs
    changed_outputs: dict[str, ObjectId] = field(default_factory=dict)  # path -> current id
    missing_deps: list[str] = field(default_factory=list)
    marked: list[str] = field(default_factory=list)  # the stale mark of its record in mlv.lock

    @property
    def stale(self) -> bool:
        return bool(self.reasons)


def path_id(scanner: Scanner, path: str) -> ObjectId | None:
    """The content id of a file or directory in the work tree, or None when it is absent."""
    scan = scanner.scan(path)
    return None if scan is None else scan.object_id()


def legacy_twin(project: Project, scanner: Scanner) -> Twin:
    """The rule mlv.lock artifact records follow, for stage records: a format 1 tree of the
    directory's current content matches (compared by content, remembered in the stat cache)."""

    def twin(path: str, recorded: ObjectId) -> bool:
        scan = scanner.scan(path)
        return (
            scan is not None
            and scan.type == "dir"
            and scan.legacy_twin(recorded, project.store.read_bytes)
        )

    return twin


def dependency_ids(scanner: Scanner, stage: StageDecl) -> dict[str, ObjectId]:
    ids = {}
    for dep in stage.deps:
        oid = path_id(scanner, dep)
        if oid is None:
            raise missing_dependency(stage, dep)
        ids[dep] = oid
    return ids


def missing_dependency(stage: StageDecl, dep: str) -> UsageError:
    return UsageError(
        f"stage {stage.name}: dependency {dep} does not exist",
        "create it, or produce it with another stage",
    )


def _differences(label: str, recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    names = sorted(set(recorded) | set(current))
    return [f"{label} changed: {n}" for n in names if recorded.get(n) != current.get(n)]


def stage_state(
    project: Project,
    id_of: IdOf,
    stage: StageDecl,
    record: StageRecord | None,
    upstream_stale: set[str],
    twin: Twin | None = None,
) -> StageState:
    """Why ``stage`` would run now (no reasons: up to date)."""
    state = StageState(stage.name)
    if record is None:
        state.own.append("never ran")
        state.missing_deps = [dep for dep in stage.deps if id_of(dep) is None]
    else:
        state.marked = record.stale_reasons
        same = twin or (lambda path, recorded: False)
        _record_differences(project, id_of, same, stage, record, state)
    state.reasons = state.own + [f"upstream stage {u} is stale" for u in sorted(upstream_stale)]
    return state


def _record_differences(
    project: Project,
    id_of: IdOf,
    twin: Twin,
    stage: StageDecl,
    record: StageRecord,
    state: StageState,
) -> None:
    """Where ``record`` no longer describes the stage as declared and its paths as they are."""
    reasons = state.own
    if record.cmd != stage.cmd:
        reasons.append("command changed")
    for dep in stage.deps:
        oid = id_of(dep)
        if oid is None:
            reasons.append(f"dependency missing: {dep}")
            state.missing_deps.append(dep)
        elif not _same(record.deps.get(dep), oid, dep, twin):
            reasons.append(f"dependency changed: {dep}")
    if set(record.deps) != set(stage.deps):
        reasons.append("dependencies declared differently")
    try:
        current = param_values(project.root, stage.params)
    except UsageError as exc:
        reasons.append(f"params unreadable: {exc.message}")
    else:
        reasons += _differences("param", record.params, current)
    for out in stage.outputs:
        oid = id_of(out)
        if oid is None:
            reasons.append(f"output missing: {out}")
        elif not _same(record.outs.get(out), oid, out, twin):
            reasons.append(f"output changed: {out}")
            state.changed_outputs[out] = oid
    if set(record.outs) != set(stage.outputs):
        reasons.append("outputs declared differently")


def _same(recorded: ObjectId | None, oid: ObjectId, path: str, twin: Twin) -> bool:
    return recorded == oid or (recorded is not None and twin(path, recorded))


def pipeline_states(
    project: Project,
    lock: Lock,
    scanner: Scanner,
    wanted: list[str] | None = None,
    *,
    id_of: IdOf | None = None,
    twin: Twin | None = None,
) -> list[StageState]:
    """The state of every stage (or ``wanted`` and what they need), in execution order."""
    stages = project.declarations.stages
    unknown = [w for w in wanted or [] if w not in stages]
    if unknown:
        raise UsageError(
            f"no such stage: {', '.join(unknown)}",
            f"stages: {', '.join(sorted(stages)) or '(none; see mlv stage add)'}",
        )
    ids = id_of or (lambda path: path_id(scanner, path))
    same = twin or legacy_twin(project, scanner)
    states: dict[str, StageState] = {}
    writers = producers(stages)
    for name in topological_order(stages, wanted):
        stage = stages[name]
        stale_up = {
            writers[out]
            for dep in stage.deps
            for out in writers
            if (is_within(dep, out) or is_within(out, dep))
            and writers[out] in states
            and states[writers[out]].stale
        }
        states[name] = stage_state(project, ids, stage, lock.stages.get(name), stale_up, same)
    return list(states.values())


def produced_by_a_stage(project: Project, path: str) -> bool:
    """Whether a declared stage writes ``path`` (or something inside it, or around it)."""
    return any(
        is_within(path, out) or is_within(out, path)
        for out in producers(project.declarations.stages)
    )


@dataclass
class RecordCheck:
    """What ``mlv snapshot`` keeps of the stage records, and what it found."""

    stages: dict[str, StageRecord]  # the records to write, each marked stale where it differs
    states: list[StageState]  # every declared stage; ``marked`` is the mark written
    dropped: list[str]  # records of stages mlv.toml no longer declares


def check_records(
    project: Project, lock: Lock, scanner: Scanner, id_of: IdOf, twin: Twin | None = None
) -> RecordCheck:
    """Mark each stage record that does not describe the paths as ``id_of`` sees them.

    A record whose stage is no longer declared is dropped: the snapshot records the pipeline
    that mlv.toml declares (earlier snapshots keep the old record in git history).
    """
    declared = project.declarations.stages
    kept = {name: record for name, record in lock.stages.items() if name in declared}
    states = (
        pipeline_states(project, Lock(stages=kept), scanner, id_of=id_of, twin=twin)
        if declared
        else []
    )
    records: dict[str, StageRecord] = {}
    for state in states:
        record = kept.get(state.name)
        if record is None:
            continue
        state.marked = sorted(state.own)
        stale = state.marked or msgspec.UNSET
        records[state.name] = msgspec.structs.replace(record, stale=stale)
    return RecordCheck(records, states, sorted(set(lock.stages) - set(declared)))


def output_ids(scanner: Scanner, stage: StageDecl) -> OutputIds:
    return {out: path_id(scanner, out) for out in stage.outputs}


@dataclass(frozen=True)
class Verdict:
    """What `mlv run` does with a stage: run it (and why), skip it, or refuse (and why)."""

    state: StageState
    run: bool
    detail: str
    refusal: MlvError | None = None


def decide(
    project: Project, lock: Lock, scanner: Scanner, state: StageState, *, force: bool
) -> Verdict:
    """Run, skip or refuse one stage: the one decision that run, dry run and status report.

    Refused: a stage an interrupted run left running, outputs edited by hand that mlv.lock does
    not hold (running would replace them), a dependency that nothing can provide, params that
    cannot be read.
    """
    stage = project.declarations.stages[state.name]
    marker = RunMarker.of(project.tmp_dir, state.name)
    try:
        marker.refuse_if_still_running()
    except StillRunning as exc:
        return Verdict(state, False, exc.message, exc)
    if not state.stale and not force:
        return Verdict(state, False, "up to date")
    edited = unrecorded_edits(lock, state)
    if edited and not force and not marker.explains(output_ids(scanner, stage)):
        paths = " ".join(shlex.quote(p) for p in edited)
        refusal = CheckFailed(
            f"stage {state.name}: output(s) changed since the stage last ran: "
            f"{', '.join(edited)}; running it would replace them",
            "keep them with `mlv snapshot` (then `mlv run` replaces them; the snapshot holds"
            f" them), restore the recorded ones with `mlv checkout --force {paths}` (the edits"
            " are discarded), or discard them with `mlv run --force` (what it replaces stays"
            " in the store only until the next `mlv gc`, since no revision records it)",
        )
        return Verdict(state, False, refusal.message, refusal)
    for dep in state.missing_deps:
        if not produced_by_a_stage(project, dep):  # else that stage runs first and makes it
            missing = missing_dependency(stage, dep)
            return Verdict(state, False, missing.message, missing)
    # Params are recorded after the command: unreadable ones would fail the run only once the
    # command (hours of training, say) is done. Refuse first, unless a stage writes the file.
    if not any(produced_by_a_stage(project, spec.file) for spec in stage.params):
        try:
            param_values(project.root, stage.params)
        except UsageError as exc:
            return Verdict(state, False, exc.message, exc)
    return Verdict(state, True, "; ".join(state.reasons) or "forced")


def unrecorded_edits(lock: Lock, state: StageState) -> list[str]:
    """Outputs that differ from the stage's record and whose content mlv.lock does not hold.

    An output that matches its artifact record was kept by `mlv snapshot` (which then marked
    the stage stale): re-running replaces it and loses nothing, the snapshot holds it.
    """
    return [
        out
        for out, oid in state.changed_outputs.items()
        if (record := lock.artifacts.get(out)) is None or record.id != oid
    ]
