"""Pipeline stages as declared in mlv.toml, and the checks that make them a valid DAG.

A stage is a command with the paths it reads (deps), the paths it writes (outs and metrics
files), and the params (keys of JSON/YAML/TOML files) whose values it depends on. Stages connect
through paths: a stage that reads another's output runs after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from mlv.errors import ManifestError, MlvError
from mlv.model.manifest import KINDS, Kind
from mlv.model.paths import check_artifact_path, check_relpath, is_within


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """``FILE`` (every key) or ``FILE:k1,k2`` (dotted keys reach into nested tables)."""

    file: str
    keys: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> ParamSpec:
        file, sep, keys = text.partition(":")
        parsed = tuple(k.strip() for k in keys.split(",") if k.strip()) if sep else ()
        if sep and not parsed:
            raise ManifestError(f"params {text!r} names no key", "write FILE or FILE:key1,key2")
        check_relpath(file, what="params file")
        return cls(file, parsed)

    def __str__(self) -> str:
        return f"{self.file}:{','.join(self.keys)}" if self.keys else self.file


@dataclass(frozen=True, slots=True)
class StageDecl:
    name: str
    cmd: str
    deps: tuple[str, ...] = ()
    outs: tuple[str, ...] = ()
    params: tuple[ParamSpec, ...] = ()
    metrics: tuple[str, ...] = ()
    kinds: Mapping[str, Kind] = field(default_factory=dict)

    @property
    def outputs(self) -> tuple[str, ...]:
        """Everything the stage writes: outs and metrics files."""
        return self.outs + self.metrics

    def to_toml(self) -> dict[str, Any]:
        table: dict[str, Any] = {"cmd": self.cmd}
        for key, values in (
            ("deps", self.deps),
            ("outs", self.outs),
            ("params", [str(p) for p in self.params]),
            ("metrics", self.metrics),
        ):
            if values:
                table[key] = list(values)
        if self.kinds:
            table["kinds"] = dict(self.kinds)
        return table


_STAGE_KEYS = {"cmd", "deps", "outs", "params", "metrics", "kinds"}


def _str_list(spec: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = spec.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ManifestError(f"{where}.{key} must be a list of strings")
    return tuple(value)


def decode_stage(name: str, spec: Any, source: str) -> StageDecl:
    where = f"{source}: stages.{name}"
    if not isinstance(spec, dict):
        raise ManifestError(f"{where} must be a table")
    unknown = set(spec) - _STAGE_KEYS
    if unknown:
        raise ManifestError(
            f"{where} has unknown keys: {sorted(unknown)}",
            f"stage keys are: {', '.join(sorted(_STAGE_KEYS))}",
        )
    cmd = spec.get("cmd")
    if not isinstance(cmd, str) or not cmd.strip():
        raise ManifestError(f"{where} has no command", 'give it one: cmd = "python train.py"')
    try:
        deps = tuple(check_relpath(d, what="dependency") for d in _str_list(spec, "deps", where))
        outs = tuple(check_artifact_path(o) for o in _str_list(spec, "outs", where))
        metrics = tuple(check_artifact_path(m) for m in _str_list(spec, "metrics", where))
        params = tuple(ParamSpec.parse(p) for p in _str_list(spec, "params", where))
    except ManifestError:
        raise
    except MlvError as exc:
        raise ManifestError(f"{where}: {exc.message}", exc.hint) from None
    kinds_raw = spec.get("kinds", {})
    if not isinstance(kinds_raw, dict):
        raise ManifestError(f"{where}.kinds must be a table of output = kind")
    kinds: dict[str, Kind] = {}
    for out, kind in kinds_raw.items():
        if out not in outs + metrics:
            raise ManifestError(f"{where}.kinds names {out!r}, which is not an output")
        if kind not in KINDS:
            raise ManifestError(f"{where}: unknown kind {kind!r}", f"kinds are: {', '.join(KINDS)}")
        kinds[out] = cast(Kind, kind)
    return StageDecl(name, cmd, deps, outs, params, metrics, kinds)


def validate_pipeline(stages: Mapping[str, StageDecl]) -> None:
    """Reject what cannot run: a path written twice, a stage reading its own output, cycles."""
    writer: dict[str, str] = {}
    for stage in stages.values():
        if not stage.outputs:
            raise ManifestError(
                f"stage {stage.name} has no outputs",
                "declare what it writes with -o (or -M for metrics)",
            )
        for out in stage.outputs:
            for other_out, other in writer.items():
                if is_within(out, other_out) or is_within(other_out, out):
                    raise ManifestError(
                        f"stages {other} and {stage.name} both write {out}"
                        + ("" if out == other_out else f" (overlapping {other_out})"),
                        "each path is written by one stage only",
                    )
            writer[out] = stage.name
            for dep in stage.deps:
                if is_within(dep, out) or is_within(out, dep):
                    raise ManifestError(
                        f"stage {stage.name} writes {out}, which overlaps its dependency {dep}",
                        "a stage cannot read what it writes; split it into two stages",
                    )
    topological_order(stages)


def producers(stages: Mapping[str, StageDecl]) -> dict[str, str]:
    """Output path -> the stage that writes it."""
    return {out: s.name for s in stages.values() for out in s.outputs}


def upstream(stage: StageDecl, stages: Mapping[str, StageDecl]) -> set[str]:
    """The stages whose outputs ``stage`` reads directly."""
    found = set()
    for dep in stage.deps:
        for other in stages.values():
            if other.name != stage.name and any(
                is_within(dep, o) or is_within(o, dep) for o in other.outputs
            ):
                found.add(other.name)
    return found


def topological_order(
    stages: Mapping[str, StageDecl], wanted: Iterable[str] | None = None
) -> list[str]:
    """Stages in an order where each runs after those it reads from; cycles are an error.

    With ``wanted``, only those stages and everything upstream of them.
    """
    edges = {name: upstream(stage, stages) for name, stage in stages.items()}
    selected = set(stages) if wanted is None else set()
    if wanted is not None:
        todo = list(wanted)
        while todo:
            name = todo.pop()
            if name not in selected:
                selected.add(name)
                todo.extend(edges[name])
    order: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = [*path[path.index(name) :], name]
            raise ManifestError(
                f"stages form a cycle: {' -> '.join(cycle)}",
                "a stage cannot depend, even indirectly, on its own output",
            )
        state[name] = 1
        for before in sorted(edges[name]):
            visit(before, [*path, name])
        state[name] = 2
        order.append(name)

    for name in sorted(selected):
        visit(name, [])
    return order
