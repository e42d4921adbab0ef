"""The block of the root .gitignore that mlv keeps: one anchored line per tracked path."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from mlv.core.project import MLV_DIR
from mlv.storage.fsutil import write_bytes_atomic

BEGIN = "# >>> mlv: tracked paths (managed by mlv track/untrack; edits inside are lost)"
END = "# <<< mlv"
_SPECIAL = re.compile(r"([*?\[\]\\!#])")


def pattern_for(relpath: str) -> str:
    """An anchored gitignore pattern that matches exactly ``relpath``."""
    escaped = _SPECIAL.sub(r"\\\1", relpath)
    if escaped.endswith(" "):
        escaped = escaped[:-1] + "\\ "
    return "/" + escaped


def _split(text: str) -> tuple[list[str], list[str], list[str]]:
    lines = text.splitlines()
    if BEGIN in lines and END in lines[lines.index(BEGIN) :]:
        start = lines.index(BEGIN)
        end = lines.index(END, start)
        return lines[:start], lines[start + 1 : end], lines[end + 1 :]
    return lines, [], []


def update(root: Path, add: Iterable[str] = (), remove: Iterable[str] = ()) -> bool:
    """Add and remove tracked paths in the managed block; True when the file changed."""
    path = root / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    before, block, after = _split(text)
    patterns = dict.fromkeys(block)
    for rel in remove:
        patterns.pop(pattern_for(rel), None)
    for rel in add:
        patterns[pattern_for(rel)] = None
    new_block = sorted(patterns)
    lines = [*before, BEGIN, *new_block, END, *after] if new_block else [*before, *after]
    new_text = "\n".join(lines) + "\n" if lines else ""
    if new_text == text:
        return False
    # The scratch directory keeps a killed write's temporary file out of the work tree.
    tmp_dir = root / MLV_DIR / "tmp"
    write_bytes_atomic(path, new_text.encode("utf-8"), durable=False, tmp_dir=tmp_dir)
    return True
