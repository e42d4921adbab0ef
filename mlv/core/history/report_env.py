"""The report's environment section: `mlv env diff` of the two compared snapshots' records, the
pins of requirements-style lockfiles compared when both versions are in the store."""

from __future__ import annotations

from mlv.core.env.diff import LockReader, diff_environments
from mlv.model.manifest import Lock
from mlv.model.report import EnvironmentView


def environment_view(
    old: Lock, new: Lock, old_label: str, new_label: str, *, read: LockReader | None = None
) -> EnvironmentView:
    """How the environment recorded in ``new`` differs from the one in ``old``; ``read`` reads
    a lockfile object (None when it is not available)."""
    a, b = old.environment, new.environment
    view = EnvironmentView(
        str(a.fingerprint) if a is not None else None,
        str(b.fingerprint) if b is not None else None,
    )
    if a is None or b is None:
        missing = [label for label, r in ((old_label, a), (new_label, b)) if r is None]
        view.note = f"no environment recorded in {' and '.join(missing)}"
        return view
    view.diff = diff_environments(a, b, read=read)
    return view
