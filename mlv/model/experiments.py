"""The experiments table: one row per snapshot, a column per param and metric (``mlv log
--metrics --params``, the report's charts), and its JSON-ready dict (docs/json.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Experiment:
    """One snapshot: its commit and the param and metric values its stages recorded."""

    commit: str
    date: str
    author: str
    subject: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    # The columns whose value differs from the snapshot before (the next older row).
    changed_params: list[str] = field(default_factory=list)
    changed_metrics: list[str] = field(default_factory=list)
    problem: str | None = None  # the manifest could not be read (or was removed) at this commit


@dataclass
class ExperimentTable:
    """Snapshots newest first; ``params``/``metrics`` name the columns, in display order."""

    params: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    rows: list[Experiment] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "params": self.params,
            "metrics": self.metrics,
            "snapshots": [
                {
                    "commit": r.commit,
                    "date": r.date,
                    "author": r.author,
                    "subject": r.subject,
                    "problem": r.problem,
                    "params": {k: r.params[k] for k in self.params if k in r.params},
                    "metrics": {k: r.metrics[k] for k in self.metrics if k in r.metrics},
                    "changed": {"params": r.changed_params, "metrics": r.changed_metrics},
                }
                for r in self.rows
            ],
        }


def as_number(value: Any) -> float | None:
    """A metric value as a float, or None for what is not a finite-or-infinite real number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
