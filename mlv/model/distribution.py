"""mlv's own distribution: its name on package indexes, and how an environment record of it is
installed again.

The command and the import package are ``mlv``; the distribution is ``mlv-cli``, because ``mlv`` on
PyPI is an unrelated project (versions 1.0.0 and later, which also install a package ``mlv``).
Before the rename this project's own distribution was ``mlv`` at 0.x, so environment records
written then list ``mlv==0.1.0``: that is mlv itself, never something to fetch from an index.
"""

from __future__ import annotations

import re

DISTRIBUTION = "mlv-cli"
FORMER_NAME = "mlv"


def normalise(name: str) -> str:
    """A distribution name as package indexes compare them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def is_own_package(requirement: str) -> bool:
    """Whether an environment record's ``name==version`` entry is mlv itself (either name)."""
    name, _, version = requirement.partition("==")
    name = normalise(name)
    return name == DISTRIBUTION or (name == FORMER_NAME and version.startswith("0."))
