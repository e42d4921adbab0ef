"""mlv's own distribution: its name on package indexes, and how an environment record of it is
installed again.

The command and the import package are ``mlv``; the distribution is ``mlv-cli``, because ``mlv`` on
PyPI is an unrelated project (versions 1.0.0 and later, which also install a package ``mlv``).
Before the rename this project's own distribution was ``mlv`` at 0.x, so environment records
written then list ``mlv==0.1.0``: that is mlv itself, never something to fetch from an index.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlv.model.manifest import WriterRecord

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


def index_requirement(writer: WriterRecord | None) -> str | None:
    """What to install from a package index to get the mlv of ``writer`` back.

    None when that mlv did not come from an index (editable, a local wheel or directory, a VCS
    URL, a source tree) or is not known: a restore then takes mlv from the run's code or from
    the running mlv, never an index package of the same name, which may be another project.
    """
    if writer is None or writer.install != "index" or writer.distribution != DISTRIBUTION:
        return None
    return f"{DISTRIBUTION}=={writer.version}"
