"""Environments rebuilt for `mlv reproduce --env recorded`, kept per fingerprint in a cache of the
user's (shared by all their clones): ``$MLV_ENV_CACHE``, else ``$XDG_CACHE_HOME/mlv/envs``, else
``~/.cache/mlv/envs``. One directory per fingerprint, built under a lock so that two reproduces
of the same environment build it once; ready only with its marker (mlv.core.env.restore)."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlv.adapters.installer import Installer
from mlv.core.env.interpreters import find_interpreter
from mlv.core.env.plan import RestorePlan
from mlv.core.env.restore import BuildResult, OnStep, build, is_leftover, ready
from mlv.errors import UsageError
from mlv.storage.lock import TIMEOUT_ENV, exclusive, lock_timeout

CACHE_ENV = "MLV_ENV_CACHE"
BUILD_WAIT = 1800.0  # seconds


def cache_root() -> Path:
    given = os.environ.get(CACHE_ENV)
    if given:
        return Path(given).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "mlv" / "envs"


@dataclass(frozen=True, slots=True)
class CachedEnv:
    fingerprint: str
    path: Path
    ready: bool  # False: a build that was killed (removed by the next build or `remove`)
    python: str
    rev: str
    built: str
    last_used: float  # seconds since the epoch
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "path": str(self.path),
            "ready": self.ready,
            "python": self.python,
            "rev": self.rev,
            "built": self.built,
            "last_used": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.last_used)),
            "size": self.size,
        }


def _size(path: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def _lock(root: Path, key: str) -> Path:
    return root / f"{key}.lock"


def cached_environment(
    plan: RestorePlan,
    make_installer: Callable[[], Installer],
    options: list[str],
    *,
    about: dict[str, Any],
    python: Path | None = None,
    on_step: OnStep = lambda *_: None,
) -> BuildResult:
    """The ready environment of ``plan``'s fingerprint, built first if the cache lacks it."""
    root = cache_root()
    key = plan.record.fingerprint.digest
    path = root / key
    root.mkdir(parents=True, exist_ok=True)
    # Another process building the same environment may take minutes (pip, large wheels): wait
    # up to half an hour for it unless MLV_LOCK_TIMEOUT says otherwise.
    wait = lock_timeout() if os.environ.get(TIMEOUT_ENV) else BUILD_WAIT
    with exclusive(_lock(root, key), wait, what=f"building environment {key[:12]}"):
        marker = ready(path)
        if marker is not None and marker.get("fingerprint") == str(plan.record.fingerprint):
            os.utime(path / "mlv-env.json")  # last used: what `mlv env cache list` sorts by
            return BuildResult(
                path,
                str(marker.get("python", "")),
                str(marker.get("installer", "")),
                str(marker.get("source", "")),
                built=False,
            )
        if path.exists():
            if not is_leftover(path) and marker is None and any(path.iterdir()):
                raise UsageError(
                    f"{path} is in mlv's environment cache but not an environment mlv built",
                    f"remove it (`mlv env cache remove {key[:12]}`)",
                )
            shutil.rmtree(path)
        interpreter = find_interpreter(plan.record.python, python)
        return build(
            plan, path, make_installer(), interpreter, options, about=about, on_step=on_step
        )


def list_cached() -> list[CachedEnv]:
    """Every environment in the cache, most recently used first."""
    root = cache_root()
    found = []
    try:
        entries = sorted(p for p in root.iterdir() if p.is_dir())
    except FileNotFoundError:
        return []
    for path in entries:
        marker = ready(path)
        stamp = path / "mlv-env.json" if marker is not None else path
        found.append(
            CachedEnv(
                fingerprint=str(marker.get("fingerprint", path.name)) if marker else path.name,
                path=path,
                ready=marker is not None,
                python=str(marker.get("python", "")) if marker else "",
                rev=str(marker.get("rev", "")) if marker else "",
                built=str(marker.get("built", "")) if marker else "",
                last_used=stamp.stat().st_mtime,
                size=_size(path),
            )
        )
    return sorted(found, key=lambda e: -e.last_used)


def remove_cached(prefixes: list[str], *, everything: bool = False) -> list[CachedEnv]:
    """Remove the cached environments whose fingerprint starts with one of ``prefixes`` (the
    ``xxh128:`` part optional), or all of them; an unmatched prefix is a UsageError."""
    cached = list_cached()
    wanted = [p.removeprefix("xxh128:") for p in prefixes]
    chosen = cached if everything else []
    for prefix in wanted:
        hits = [e for e in cached if e.path.name.startswith(prefix)]
        if not hits or not prefix:
            raise UsageError(
                f"no cached environment has a fingerprint starting with {prefix!r}",
                "`mlv env cache list` shows them",
            )
        if len(hits) > 1:
            raise UsageError(f"{prefix!r} names {len(hits)} cached environments", "give more")
        chosen += [h for h in hits if h not in chosen]
    root = cache_root()
    for entry in chosen:
        with exclusive(_lock(root, entry.path.name), what="building that environment"):
            shutil.rmtree(entry.path, ignore_errors=True)
    return chosen
