"""The ``[tables]`` section of mlv.toml: which tables get summaries, drift thresholds, checks.

[tables]
summaries = true            # false: no table summaries at all
max_size = 10_000_000_000   # bytes; larger files are recorded without a summary
exclude = ["data/raw/**"]   # globs of paths never summarised
psi_warn = 0.1              # drift flagged "warn" from this PSI on
psi_alert = 0.25            # ... and "alert" (what `mlv diff --check` fails on)
check = ["drift", "schema"] # what `mlv diff --check` fails on

[tables.tolerance]          # `mlv reproduce`: accepted per-column numeric differences
"out/predictions.csv:score" = 1e-6
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlv.errors import ManifestError

CHECKS = ("drift", "schema")
_KEYS = {"summaries", "max_size", "exclude", "psi_warn", "psi_alert", "check", "tolerance"}


@dataclass(frozen=True, slots=True)
class TableConfig:
    summaries: bool = True
    max_size: int | None = None
    exclude: tuple[str, ...] = ()
    psi_warn: float = 0.1
    psi_alert: float = 0.25
    check: tuple[str, ...] = CHECKS
    tolerance: Mapping[str, float] = field(default_factory=dict)

    def wants(self, path: str, size: int) -> bool:
        """Whether a table file of ``size`` bytes at ``path`` gets a summary."""
        if not self.summaries or (self.max_size is not None and size > self.max_size):
            return False
        return not any(fnmatch.fnmatchcase(path, pattern) for pattern in self.exclude)

    def level(self, psi: float | None) -> str:
        """``ok``, ``warn`` or ``alert`` for a PSI value (None: not computable, ``ok``)."""
        if psi is None or psi < self.psi_warn:
            return "ok"
        return "alert" if psi >= self.psi_alert else "warn"


def _number(value: Any, what: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ManifestError(f"{source}: tables.{what} must be a number >= 0, not {value!r}")
    return float(value)


def decode_table_config(raw: Any, source: str) -> TableConfig:
    """Validate the ``[tables]`` table (absent: the defaults)."""
    if raw is None:
        return TableConfig()
    if not isinstance(raw, dict):
        raise ManifestError(f"{source}: [tables] must be a table")
    unknown = set(raw) - _KEYS
    if unknown:
        raise ManifestError(
            f"{source}: unknown key(s) in [tables]: {sorted(unknown)}",
            f"[tables] takes: {', '.join(sorted(_KEYS))}",
        )
    summaries = raw.get("summaries", True)
    if not isinstance(summaries, bool):
        raise ManifestError(f"{source}: tables.summaries must be true or false")
    max_size = raw.get("max_size")
    if max_size is not None and (
        isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 0
    ):
        raise ManifestError(f"{source}: tables.max_size must be a number of bytes")
    exclude = raw.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(p, str) for p in exclude):
        raise ManifestError(f"{source}: tables.exclude must be a list of glob patterns")
    warn = _number(raw.get("psi_warn", 0.1), "psi_warn", source)
    alert = _number(raw.get("psi_alert", 0.25), "psi_alert", source)
    if alert < warn:
        raise ManifestError(f"{source}: tables.psi_alert ({alert}) is below psi_warn ({warn})")
    check = raw.get("check", list(CHECKS))
    if not isinstance(check, list) or not set(check) <= set(CHECKS):
        raise ManifestError(
            f"{source}: tables.check must be a list of {', '.join(repr(c) for c in CHECKS)}"
        )
    tolerance_raw = raw.get("tolerance", {})
    if not isinstance(tolerance_raw, dict):
        raise ManifestError(f"{source}: [tables.tolerance] must be a table of PATH:COLUMN = ABS")
    tolerance = {}
    for key, value in tolerance_raw.items():
        if ":" not in key:
            raise ManifestError(f"{source}: tables.tolerance key {key!r} is not PATH:COLUMN")
        tolerance[key] = _number(value, f"tolerance.{key!r}", source)
    return TableConfig(summaries, max_size, tuple(exclude), warn, alert, tuple(check), tolerance)
