"""Moved to the ``mlv.core.env`` package (capture, details, diff, drift, restore, cache); this
module keeps the old import path for callers of ``capture``, ``compare`` and ``EnvDrift``."""

from __future__ import annotations

from mlv.core.env.capture import (
    LOCKFILE_NAMES as LOCKFILE_NAMES,
)
from mlv.core.env.capture import (
    allowed_values as allowed_values,
)
from mlv.core.env.capture import (
    capture as capture,
)
from mlv.core.env.capture import (
    find_lockfiles as find_lockfiles,
)
from mlv.core.env.capture import (
    fingerprint as fingerprint,
)
from mlv.core.env.capture import (
    installed_packages as installed_packages,
)
from mlv.core.env.drift import EnvDrift as EnvDrift
from mlv.core.env.drift import compare as compare
