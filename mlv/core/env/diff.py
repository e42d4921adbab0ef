"""The difference between two environment records: interpreter, platform, packages (added, removed,
upgraded, downgraded), their sources, lockfiles (and, for requirements-style ones, which pins
changed), variables, conda and CUDA. `mlv env diff` shows it; status and reproduce summarise it."""

from __future__ import annotations

from collections.abc import Callable

from mlv.core.env.pins import is_requirements, parse_pins
from mlv.errors import UsageError
from mlv.model.env_diff import Change as Change
from mlv.model.env_diff import EnvironmentDiff as EnvironmentDiff
from mlv.model.env_diff import LockfileChange as LockfileChange
from mlv.model.env_diff import describe_package as describe_package
from mlv.model.environment import EnvironmentRecord
from mlv.model.ids import ObjectId

# Reads a lockfile object (None when it is not in the store): pins are compared only then.
LockReader = Callable[[ObjectId], bytes | None]


def _compare_versions(old: str, new: str) -> int | None:
    """-1, 0, 1 as PEP 440 orders them; None when either is not a PEP 440 version."""
    from packaging.version import InvalidVersion, Version

    try:
        a, b = Version(old), Version(new)
    except InvalidVersion:
        return None
    return (a > b) - (a < b)


def _mapping_changes(old: dict[str, str], new: dict[str, str]) -> list[Change]:
    return [
        Change(n, old.get(n), new.get(n))
        for n in sorted(old.keys() | new.keys())
        if old.get(n) != new.get(n)
    ]


def _pins(
    name: str, old: ObjectId, new: ObjectId, read: LockReader | None
) -> tuple[Change, ...] | None:
    if read is None or not is_requirements(name):
        return None
    texts = [read(old), read(new)]
    if texts[0] is None or texts[1] is None:
        return None
    try:
        a, b = (parse_pins(t.decode(errors="replace"), name) for t in texts)  # type: ignore[union-attr]
    except UsageError:
        return None  # shown as modified; the pins cannot be named
    return tuple(_mapping_changes(a, b))


def _lockfiles(
    old: EnvironmentRecord, new: EnvironmentRecord, read: LockReader | None
) -> list[LockfileChange]:
    changes = []
    for name in sorted(old.lockfiles.keys() | new.lockfiles.keys()):
        a, b = old.lockfiles.get(name), new.lockfiles.get(name)
        if a == b:
            continue
        if a is None or b is None:
            changes.append(LockfileChange(name, "added" if a is None else "removed"))
        else:
            changes.append(LockfileChange(name, "modified", _pins(name, a, b, read)))
    return changes


def _cuda(old: EnvironmentRecord, new: EnvironmentRecord) -> list[Change]:
    fields = ("driver", "cuda", "torch", "cudnn")
    a, b = old.cuda_stack, new.cuda_stack
    before = {f: getattr(a, f) for f in fields if a is not None and getattr(a, f)}
    after = {f: getattr(b, f) for f in fields if b is not None and getattr(b, f)}
    return _mapping_changes(before, after)


def _conda(old: EnvironmentRecord, new: EnvironmentRecord) -> list[Change]:
    a, b = old.conda_env, new.conda_env
    changes = []
    if (a and a.name) != (b and b.name):
        changes.append(Change("name", a.name if a else None, b.name if b else None))

    def versions(packages: list[str]) -> dict[str, str]:
        return dict(p.split("==", 1) for p in packages if "==" in p)

    old_packages, new_packages = (a.packages if a else []), (b.packages if b else [])
    changes += _mapping_changes(versions(old_packages), versions(new_packages))
    return changes


def diff_environments(
    old: EnvironmentRecord, new: EnvironmentRecord, *, read: LockReader | None = None
) -> EnvironmentDiff:
    """How environment ``new`` differs from ``old``; ``read`` fetches lockfile objects so that
    the pins of requirements-style lockfiles can be compared (without it: modified or not)."""
    before, after = old.versions(), new.versions()
    upgraded: list[Change] = []
    downgraded: list[Change] = []
    changed: list[Change] = []
    for name in sorted(before.keys() & after.keys()):
        a, b = before[name], after[name]
        if a == b:
            continue
        order = _compare_versions(a, b)
        # Not PEP 440, or equal under it (1.0 and 1.0.0): a change of spelling, not of order.
        target = changed if not order else (upgraded if order < 0 else downgraded)
        target.append(Change(name, a, b))
    old_sources = {n: s.describe() for n, s in old.package_sources.items()}
    new_sources = {n: s.describe() for n, s in new.package_sources.items()}
    # A package added or removed is reported as such; its source changes only if it stayed.
    kept = before.keys() & after.keys()
    sources = [c for c in _mapping_changes(old_sources, new_sources) if c.name in kept]
    py_a = f"{old.python.implementation} {old.python.version}"
    py_b = f"{new.python.implementation} {new.python.version}"
    pl_a = f"{old.platform.system}-{old.platform.machine}"
    pl_b = f"{new.platform.system}-{new.platform.machine}"
    return EnvironmentDiff(
        old_fingerprint=str(old.fingerprint),
        new_fingerprint=str(new.fingerprint),
        python=None if py_a == py_b else Change("python", py_a, py_b),
        platform=None if pl_a == pl_b else Change("platform", pl_a, pl_b),
        release=None
        if old.platform.release == new.platform.release
        else Change("release", old.platform.release, new.platform.release),
        added=tuple(Change(n, None, after[n]) for n in sorted(after.keys() - before.keys())),
        removed=tuple(Change(n, before[n], None) for n in sorted(before.keys() - after.keys())),
        upgraded=tuple(upgraded),
        downgraded=tuple(downgraded),
        changed=tuple(changed),
        sources=tuple(sources),
        lockfiles=tuple(_lockfiles(old, new, read)),
        variables=tuple(_mapping_changes(old.variables, new.variables)),
        conda=tuple(_conda(old, new)),
        cuda=tuple(_cuda(old, new)),
    )
