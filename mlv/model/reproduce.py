"""The verdict of ``mlv reproduce``: per stage and per output, and its JSON-ready dict.

``mlv.render.junit`` writes it as JUnit XML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlv.model.ids import ObjectId

IDENTICAL = "identical"
WITHIN_TOLERANCE = "within tolerance"
DIFFERS = "differs"
MISSING = "missing"  # the stage did not write it (or did not run)


@dataclass
class MetricDelta:
    name: str
    recorded: Any
    reproduced: Any
    delta: float | None  # None for non-numeric values
    tolerance: float | None

    @property
    def within(self) -> bool:
        if self.recorded == self.reproduced:
            return True
        return (
            self.delta is not None
            and self.tolerance is not None
            and (abs(self.delta) <= self.tolerance)
        )


@dataclass
class OutputVerdict:
    stage: str
    path: str
    verdict: str
    recorded: ObjectId
    reproduced: ObjectId | None
    recorded_size: int | None = None
    reproduced_size: int | None = None
    metrics: list[MetricDelta] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.verdict in (IDENTICAL, WITHIN_TOLERANCE)

    def explain(self) -> str:
        if self.verdict == IDENTICAL:
            return "identical"
        if self.verdict == MISSING:
            return "not produced"
        parts = []
        if self.recorded_size is not None and self.reproduced_size is not None:
            if self.recorded_size != self.reproduced_size:
                parts.append(f"size {self.recorded_size} -> {self.reproduced_size} bytes")
            else:
                parts.append(f"same size ({self.recorded_size} bytes), different content")
        for m in self.metrics:
            if m.recorded != m.reproduced:
                delta = f" ({m.delta:+.6g})" if m.delta is not None else ""
                tol = f", tolerance {m.tolerance:g}" if m.tolerance is not None else ""
                parts.append(f"{m.name}: {m.recorded} -> {m.reproduced}{delta}{tol}")
        return "; ".join(parts) or self.verdict


@dataclass
class StageVerdict:
    name: str
    cmd: str
    inputs_matched: bool
    input_differences: list[str] = field(default_factory=list)
    exit_code: int | None = None  # None: not run (an earlier stage failed)
    duration: float = 0.0
    log: str = ""
    outputs: list[OutputVerdict] = field(default_factory=list)
    marked_stale: list[str] = field(default_factory=list)  # the snapshot's stale mark, if any

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and all(o.ok for o in self.outputs)


@dataclass
class ReproduceReport:
    rev: str
    commit: str
    environment: dict[str, Any]  # drift, as shown by status --json
    stages: list[StageVerdict] = field(default_factory=list)
    workdir: str | None = None  # kept for inspection

    @property
    def reproduced(self) -> bool:
        return bool(self.stages) and all(s.ok for s in self.stages)

    @property
    def first_divergence(self) -> str | None:
        """The first stage whose outputs diverged although its inputs matched the record."""
        for s in self.stages:
            if s.inputs_matched and not s.ok:
                return s.name
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rev": self.rev,
            "commit": self.commit,
            "reproduced": self.reproduced,
            "first_divergence": self.first_divergence,
            "workdir": self.workdir,
            "environment": self.environment,
            "stages": [
                {
                    "name": s.name,
                    "cmd": s.cmd,
                    "inputs_matched": s.inputs_matched,
                    "input_differences": s.input_differences,
                    "marked_stale": s.marked_stale,
                    "exit_code": s.exit_code,
                    "duration": round(s.duration, 3),
                    "outputs": [
                        {
                            "path": o.path,
                            "verdict": o.verdict,
                            "recorded": o.recorded,
                            "reproduced": o.reproduced,
                            "recorded_size": o.recorded_size,
                            "reproduced_size": o.reproduced_size,
                            "detail": o.explain(),
                            "metrics": [
                                {
                                    "name": m.name,
                                    "recorded": m.recorded,
                                    "reproduced": m.reproduced,
                                    "delta": m.delta,
                                    "tolerance": m.tolerance,
                                }
                                for m in o.metrics
                            ],
                        }
                        for o in s.outputs
                    ],
                }
                for s in self.stages
            ],
        }
