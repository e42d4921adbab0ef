"""``mlv init``: make a git work tree an mlv project."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlv.adapters.git import find_toplevel
from mlv.core.project import LOCAL_CONFIG_FILE, MLV_DIR, MLV_GITIGNORE
from mlv.model.declarations import DECLARATIONS_FILE, template, with_setting
from mlv.storage.fsutil import write_bytes_atomic


@dataclass(frozen=True, slots=True)
class InitResult:
    root: Path
    created: bool  # False when mlv.toml was already there (a clone, or init run twice)
    cache_dir: Path | None


def init(start: Path | None = None, cache_dir: str | None = None) -> InitResult:
    """Create mlv.toml and .mlv/ (idempotent); ``cache_dir`` relocates this clone's store."""
    root = find_toplevel(start or Path.cwd())
    toml = root / DECLARATIONS_FILE
    mlv_dir = root / MLV_DIR
    tmp_dir = mlv_dir / "tmp"  # a killed write leaves its debris here, not in the work tree
    created = not toml.exists()
    if created:
        write_bytes_atomic(toml, template().encode("utf-8"), durable=False, tmp_dir=tmp_dir)
    ignore = mlv_dir / ".gitignore"
    if not ignore.exists():
        write_bytes_atomic(ignore, MLV_GITIGNORE.encode(), durable=False, tmp_dir=tmp_dir)
    resolved = None
    if cache_dir is not None:
        resolved = (Path.cwd() / Path(cache_dir).expanduser()).resolve()
        resolved.mkdir(parents=True, exist_ok=True)
        local = root / LOCAL_CONFIG_FILE
        text = local.read_text(encoding="utf-8") if local.exists() else ""
        write_bytes_atomic(
            local,
            with_setting(text, "cache_dir", str(resolved)).encode(),
            durable=False,
            tmp_dir=tmp_dir,
        )
    return InitResult(root, created, resolved)
