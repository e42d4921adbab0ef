"""Names a person gives things in mlv.toml (stages, remotes): one rule for all of them."""

from __future__ import annotations

import re

from mlv.errors import UsageError

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def check_name(name: str, what: str) -> str:
    """``name`` if it is a plain identifier; a UsageError naming ``what`` otherwise."""
    if not _NAME.match(name):
        raise UsageError(
            f"invalid {what} name {name!r}",
            "use letters, digits, '_', '-' and '.', starting with a letter or digit",
        )
    return name
