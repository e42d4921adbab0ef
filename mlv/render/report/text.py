"""Text from the project, made safe and bounded for the report page."""

from __future__ import annotations

import json
from html import escape
from typing import Any

CELL = 60  # characters of a value shown in a table cell (`mlv log --json` has them whole)
NAME = 120  # characters of a name (column, param, metric, path) shown


def cell(value: Any, limit: int = CELL) -> str:
    """A value as escaped text (for an element or a quoted attribute), cut to ``limit``."""
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, sort_keys=True)
    else:
        text = str(value)
    return escape(text if len(text) <= limit else text[: limit - 1] + "…")


def name(text: str) -> str:
    """A name, escaped and cut to ``NAME`` characters."""
    return cell(text, NAME)
