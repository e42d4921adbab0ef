"""The report's environment section, kept apart so that it can switch to another comparison
of environment records without touching the rest of the report."""

from __future__ import annotations

from mlv.core.environment import compare
from mlv.model.manifest import Lock
from mlv.model.report import EnvironmentView

MAX_PACKAGES = 500  # package lines listed per kind of change (added, removed, changed)


def environment_view(old: Lock, new: Lock, old_label: str, new_label: str) -> EnvironmentView:
    """How the environment recorded in ``new`` differs from the one in ``old``."""
    a, b = old.environment, new.environment
    view = EnvironmentView(
        str(a.fingerprint) if a is not None else None,
        str(b.fingerprint) if b is not None else None,
    )
    if a is None or b is None:
        missing = [label for label, r in ((old_label, a), (new_label, b)) if r is None]
        view.note = f"no environment recorded in {' and '.join(missing)}"
        return view
    drift = compare(a, b)
    view.python, view.platform = drift.python, drift.platform
    view.added = drift.added[:MAX_PACKAGES]
    view.removed = drift.removed[:MAX_PACKAGES]
    view.changed = drift.changed[:MAX_PACKAGES]
    view.lockfiles, view.variables = drift.lockfiles, drift.variables
    cut = sum(max(0, len(x) - MAX_PACKAGES) for x in (drift.added, drift.removed, drift.changed))
    if cut:
        view.note = f"{cut} more package changes not listed"
    return view
