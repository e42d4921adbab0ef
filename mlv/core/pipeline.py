"""Which stages are stale, and why: the comparison of declarations and work tree with mlv.lock.

A stage is stale when it never ran, its command changed, a dependency's content or a declared
param's value differs from what was recorded, or an output is missing or was changed by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlv.core.params import param_values
from mlv.core.project import Project
from mlv.core.workspace import Scanner
from mlv.errors import UsageError
from mlv.model.ids import ObjectId
from mlv.model.manifest import Lock, StageRecord
from mlv.model.paths import is_within
from mlv.model.stages import StageDecl, producers, topological_order


@dataclass
class StageState:
    name: str
    reasons: list[str] = field(default_factory=list)

    @property
    def stale(self) -> bool:
        return bool(self.reasons)


def path_id(scanner: Scanner, path: str) -> ObjectId | None:
    """The content id of a file or directory in the work tree, or None when it is absent."""
    scan = scanner.scan(path)
    return None if scan is None else scan.object_id()


def dependency_ids(scanner: Scanner, stage: StageDecl) -> dict[str, ObjectId]:
    ids = {}
    for dep in stage.deps:
        oid = path_id(scanner, dep)
        if oid is None:
            raise UsageError(
                f"stage {stage.name}: dependency {dep} does not exist",
                "create it, or produce it with another stage",
            )
        ids[dep] = oid
    return ids


def _differences(label: str, recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    names = sorted(set(recorded) | set(current))
    return [f"{label} changed: {n}" for n in names if recorded.get(n) != current.get(n)]


def stage_state(
    project: Project,
    scanner: Scanner,
    stage: StageDecl,
    record: StageRecord | None,
    upstream_stale: set[str],
) -> StageState:
    """Why ``stage`` would run now (no reasons: up to date)."""
    state = StageState(stage.name)
    if record is None:
        state.reasons.append("never ran")
        return state
    if record.cmd != stage.cmd:
        state.reasons.append("command changed")
    for dep in stage.deps:
        oid = path_id(scanner, dep)
        if oid is None:
            state.reasons.append(f"dependency missing: {dep}")
        elif record.deps.get(dep) != oid:
            state.reasons.append(f"dependency changed: {dep}")
    if set(record.deps) != set(stage.deps):
        state.reasons.append("dependencies declared differently")
    try:
        current = param_values(project.root, stage.params)
    except UsageError as exc:
        state.reasons.append(f"params unreadable: {exc.message}")
    else:
        state.reasons += _differences("param", record.params, current)
    for out in stage.outputs:
        oid = path_id(scanner, out)
        if oid is None:
            state.reasons.append(f"output missing: {out}")
        elif record.outs.get(out) != oid:
            state.reasons.append(f"output changed: {out}")
    state.reasons += [f"upstream stage {u} is stale" for u in sorted(upstream_stale)]
    return state


def pipeline_states(
    project: Project, lock: Lock, scanner: Scanner, wanted: list[str] | None = None
) -> list[StageState]:
    """The state of every stage (or ``wanted`` and what they need), in execution order."""
    stages = project.declarations.stages
    unknown = [w for w in wanted or [] if w not in stages]
    if unknown:
        raise UsageError(
            f"no such stage: {', '.join(unknown)}",
            f"stages: {', '.join(sorted(stages)) or '(none; see mlv stage add)'}",
        )
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
        states[name] = stage_state(project, scanner, stage, lock.stages.get(name), stale_up)
    return list(states.values())
