"""The difference between two environment records, as data: what `mlv env diff` prints, `--json`
writes and the report draws. Computed by ``mlv.core.env.diff.diff_environments``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Change:
    """One named value that differs; None on a side that does not have it."""

    name: str
    old: str | None
    new: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "old": self.old, "new": self.new}


@dataclass(frozen=True, slots=True)
class LockfileChange:
    """A lockfile added, removed or modified; ``pins`` lists the changed requirements of a
    requirements-style file when both versions could be read (None otherwise)."""

    name: str
    status: str  # "added" | "removed" | "modified"
    pins: tuple[Change, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "pins": None if self.pins is None else [p.to_dict() for p in self.pins],
        }


@dataclass(frozen=True, slots=True)
class EnvironmentDiff:
    """How ``new`` differs from ``old``. Every tuple is sorted by name."""

    old_fingerprint: str
    new_fingerprint: str
    python: Change | None
    platform: Change | None
    release: Change | None  # the kernel release: shown, not part of the fingerprint
    added: tuple[Change, ...]
    removed: tuple[Change, ...]
    upgraded: tuple[Change, ...]
    downgraded: tuple[Change, ...]
    changed: tuple[Change, ...]  # versions that do not compare (not PEP 440), or equal ones
    # spelled differently (1.0 -> 1.0.0)
    sources: tuple[Change, ...]
    lockfiles: tuple[LockfileChange, ...]
    variables: tuple[Change, ...]
    conda: tuple[Change, ...]  # "name" for the environment name, packages by name
    cuda: tuple[Change, ...]  # driver, cuda, torch, cudnn

    @property
    def same(self) -> bool:
        """Nothing but (maybe) the kernel release differs."""
        return not any(
            (self.python, self.platform, self.added, self.removed, self.upgraded,
             self.downgraded, self.changed, self.sources, self.lockfiles, self.variables,
             self.conda, self.cuda)
        )  # fmt: skip

    @property
    def package_count(self) -> int:
        return sum(
            len(x) for x in (self.added, self.removed, self.upgraded, self.downgraded, self.changed)
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `mlv env diff --json` (docs/json.md)."""

        def many(changes: tuple[Change, ...]) -> list[dict[str, Any]]:
            return [c.to_dict() for c in changes]

        def one(change: Change | None) -> dict[str, Any] | None:
            return None if change is None else change.to_dict()

        return {
            "same": self.same,
            "fingerprints": [self.old_fingerprint, self.new_fingerprint],
            "python": one(self.python),
            "platform": one(self.platform),
            "release": one(self.release),
            "packages": {
                "added": many(self.added),
                "removed": many(self.removed),
                "upgraded": many(self.upgraded),
                "downgraded": many(self.downgraded),
                "changed": many(self.changed),
            },
            "sources": many(self.sources),
            "lockfiles": [c.to_dict() for c in self.lockfiles],
            "variables": many(self.variables),
            "conda": many(self.conda),
            "cuda": many(self.cuda),
        }


def describe_package(change: Change) -> str:
    """One line for a package change: ``+ name 1.0``, ``- name 1.0``, ``~ name 1.0 -> 2.0``."""
    if change.old is None:
        return f"+ {change.name} {change.new}"
    if change.new is None:
        return f"- {change.name} {change.old}"
    return f"~ {change.name} {change.old} -> {change.new}"
