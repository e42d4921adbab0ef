"""Requirements-style lockfiles (``requirements*.txt``/``.in``): their pins, for the diff of two
versions and for a restore that installs from the lockfile."""

from __future__ import annotations

import re

from mlv.errors import UsageError
from mlv.model.environment import normalise

_LINE = re.compile(
    r"^(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?P<extras>\[[^\]]*\])?\s*"
    r"(?P<spec>(?:[<>=!~]=?|===)[^;#\s]*(?:\s*,\s*(?:[<>=!~]=?|===)[^;#\s]*)*|@\s*\S+)?\s*"
    r"(?P<marker>;[^#]*)?$"
)


def is_requirements(name: str) -> bool:
    return name.startswith("requirements") and name.endswith((".txt", ".in"))


def parse_pins(text: str, source: str) -> dict[str, str]:
    """Normalised name -> specifier (``==1.2``, ``>=2``, or "" when unpinned) of each requirement.

    Options (``-r``, ``--hash``, ``-e``...) and comments are skipped; a line that is neither is a
    UsageError naming ``source`` and the line, so a damaged lockfile is never guessed at.
    """
    pins: dict[str, str] = {}
    joined = re.sub(r"\\\r?\n", " ", text)
    for number, raw in enumerate(joined.splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line or line.startswith("-"):
            continue
        line = re.sub(r"\s--hash[= ]\S+", "", line).strip()
        match = _LINE.match(line)
        if match is None:
            raise UsageError(
                f"{source} line {number} is not a requirement mlv can read: {raw.strip()[:80]!r}",
                "fix the line, or restore from the recorded package list (--from-record)",
            )
        pins[normalise(match.group("name"))] = (match.group("spec") or "").replace(" ", "")
    return pins


def exact_pins(pins: dict[str, str]) -> bool:
    """Whether every requirement is pinned to one version (usable for an exact restore)."""
    return bool(pins) and all(
        spec.startswith("==") and "," not in spec and "*" not in spec for spec in pins.values()
    )
