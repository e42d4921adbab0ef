"""How the running environment differs from a recorded one, as `mlv status` and `mlv reproduce`
summarise it: the same data as `mlv env diff` (mlv.core.env.diff) in the older, flat shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlv.core.env.diff import EnvironmentDiff, diff_environments
from mlv.model.environment import EnvironmentRecord


@dataclass(frozen=True, slots=True)
class EnvDrift:
    """How the current environment differs from a recorded one."""

    python: tuple[str, str] | None
    platform: tuple[str, str] | None
    added: list[str]
    removed: list[str]
    changed: list[tuple[str, str, str]]  # name, recorded version, current version
    lockfiles: list[str]
    variables: list[str]
    upgraded: int = 0
    downgraded: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape documented in docs/json.md (status and reproduce)."""
        return {
            "changed": self.any,
            "python": list(self.python) if self.python else None,
            "platform": list(self.platform) if self.platform else None,
            "packages_added": self.added,
            "packages_removed": self.removed,
            "packages_changed": [
                {"name": n, "recorded": a, "current": b} for n, a, b in self.changed
            ],
            "packages_upgraded": self.upgraded,
            "summary": self.summary(),
            "packages_downgraded": self.downgraded,
            "lockfiles_changed": self.lockfiles,
            "variables_changed": self.variables,
        }

    @property
    def any(self) -> bool:
        return bool(
            self.python
            or self.platform
            or self.added
            or self.removed
            or self.changed
            or self.lockfiles
            or self.variables
        )

    def summary(self) -> str:
        """One line: ``3 upgraded, 1 downgraded, 2 added, python 3.11.7 -> 3.12.1``."""
        parts = []
        if self.python:
            parts.append(f"python {self.python[0]} -> {self.python[1]}")
        if self.platform:
            parts.append(f"platform {self.platform[0]} -> {self.platform[1]}")
        other = len(self.changed) - self.upgraded - self.downgraded
        for count, word in (
            (self.upgraded, "upgraded"),
            (self.downgraded, "downgraded"),
            (other, "changed"),
            (len(self.added), "added"),
            (len(self.removed), "removed"),
        ):
            if count:
                parts.append(f"{count} package(s) {word}")
        if self.lockfiles:
            parts.append(f"lockfile(s) changed: {', '.join(self.lockfiles)}")
        if self.variables:
            parts.append(f"variable(s) changed: {', '.join(self.variables)}")
        return "; ".join(parts) or "as recorded"


def from_diff(diff: EnvironmentDiff) -> EnvDrift:
    moved = (*diff.upgraded, *diff.downgraded, *diff.changed)
    changed = sorted((c.name, c.old or "", c.new or "") for c in moved)
    return EnvDrift(
        python=None if diff.python is None else (diff.python.old or "", diff.python.new or ""),
        platform=None
        if diff.platform is None
        else (diff.platform.old or "", diff.platform.new or ""),
        added=[f"{c.name}=={c.new}" for c in diff.added],
        removed=[f"{c.name}=={c.old}" for c in diff.removed],
        changed=changed,
        lockfiles=[c.name for c in diff.lockfiles],
        variables=[c.name for c in diff.variables],
        upgraded=len(diff.upgraded),
        downgraded=len(diff.downgraded),
    )


def compare(recorded: EnvironmentRecord, current: EnvironmentRecord) -> EnvDrift:
    """The drift of ``current`` from ``recorded`` (status, reproduce)."""
    return from_diff(diff_environments(recorded, current))
