"""Environments rebuilt for `mlv reproduce --env recorded`, kept per fingerprint in a cache of the
user's (shared by all their clones): ``$MLV_ENV_CACHE``, else ``$XDG_CACHE_HOME/mlv/envs``, else
``~/.cache/mlv/envs``. One directory per fingerprint (and interpreter, when one other than the
recorded version was asked for), built under a lock so that two reproduces of the same
environment build it once; ready only with its marker (mlv.core.env.restore). Only directories
that are mlv's entries are listed or removed: anything else in the cache root is left alone."""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlv.adapters.installer import Installer
from mlv.core.env.interpreters import find_interpreter, probe
from mlv.core.env.plan import RestorePlan
from mlv.core.env.restore import (
    BUILDING,
    MARKER,
    BuildResult,
    OnStep,
    build,
    damage,
    discard,
    ready,
)
from mlv.errors import UsageError
from mlv.storage.lock import TIMEOUT_ENV, exclusive, is_locked, lock_timeout

CACHE_ENV = "MLV_ENV_CACHE"
BUILD_WAIT = 1800.0  # seconds


# An entry's name: the fingerprint's digest, then the interpreter when it is not the recorded one.
_ENTRY = re.compile(r"^[0-9a-f]{32}(-[a-z]+[0-9][0-9A-Za-z.+]*)?$")
# What a killed build can leave without its mark (an installer that wrote on after mlv died).
_DEBRIS = {
    "bin", "lib", "lib64", "include", "share", "Scripts", "Lib", "Include", "pyvenv.cfg",
    ".gitignore", "CACHEDIR.TAG", ".lock", ".mlv-requirements.txt", "mlv-code", MARKER,
}  # fmt: skip


def cache_root(create: bool = False) -> Path:
    given = os.environ.get(CACHE_ENV)
    if given:
        root = Path(given).expanduser()
        where = f"{CACHE_ENV}={given}"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = Path(xdg) if xdg else Path.home() / ".cache"
        root = base / "mlv" / "envs"
        where = "the environment cache"
    hint = f"point {CACHE_ENV} at a directory (or unset it)"
    if root.exists() and not root.is_dir():
        raise UsageError(f"{where}: {root} is not a directory", hint)
    if create:
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"{where}: cannot create {root}: {exc.strerror}", hint) from None
    return root


def entry_state(path: Path) -> str | None:
    """``ready``, ``incomplete`` (a build killed, or running: replaced by the next build), or
    None: not an entry of mlv's (never listed, reused or removed)."""
    if path.is_symlink() or not path.is_dir() or not _ENTRY.match(path.name):
        return None
    if ready(path) is not None:
        return "ready"
    if (path / BUILDING).exists():
        return "incomplete"
    try:
        names = {p.name for p in path.iterdir()}
    except OSError:
        return None
    return "incomplete" if names <= _DEBRIS else None


@dataclass(frozen=True, slots=True)
class CachedEnv:
    fingerprint: str
    path: Path
    ready: bool  # False: a build that was killed (removed by the next build or `remove`)
    python: str
    rev: str  # as the user typed it
    commit: str
    built: str
    last_used: float  # seconds since the epoch
    size: int
    building: bool = False  # a build is running now

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "path": str(self.path),
            "ready": self.ready,
            "building": self.building,
            "python": self.python,
            "rev": self.rev,
            "commit": self.commit,
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
    return root / ".locks" / f"{key}.lock"


def build_wait() -> float:
    """How long to wait for another process's build: up to half an hour (pip, large wheels)
    unless MLV_LOCK_TIMEOUT says otherwise."""
    return lock_timeout() if os.environ.get(TIMEOUT_ENV) else BUILD_WAIT


def _key(plan: RestorePlan, python: Path | None) -> tuple[str, str]:
    """The cache entry's name and the interpreter version its environment must run: the
    fingerprint's digest for the recorded interpreter, with the version appended for another."""
    recorded = plan.record.python
    digest = plan.record.fingerprint.digest
    if python is None:
        return digest, recorded.version
    found = probe(python)
    if found is None or (found.implementation, found.version) == (
        recorded.implementation,
        recorded.version,
    ):
        return digest, recorded.version  # find_interpreter names a bad --python when building
    return f"{digest}-{found.implementation.lower()}{found.version}", found.version


def cached_environment(
    plan: RestorePlan,
    make_installer: Callable[[], Installer],
    options: list[str],
    *,
    about: dict[str, Any],
    python: Path | None = None,
    on_step: OnStep = lambda *_: None,
) -> BuildResult:
    """The ready environment of ``plan``'s fingerprint (and interpreter), built first if the
    cache lacks it, or rebuilt when the cached one is damaged."""
    root = cache_root(create=True)
    key, version = _key(plan, python)
    path = root / key
    with exclusive(_lock(root, key), build_wait(), what=f"building environment {key[:12]}") as fd:
        marker = ready(path)
        notes = []
        if marker is not None and marker.get("fingerprint") == str(plan.record.fingerprint):
            why = damage(path, marker)
            if why is None and str(marker.get("python", "")) != version:
                why = f"it runs python {marker.get('python')}, not {version}"
            if why is None:
                os.utime(path / MARKER)  # last used: what `mlv env cache list` sorts by
                return BuildResult(
                    path,
                    str(marker.get("python", "")),
                    str(marker.get("installer", "")),
                    str(marker.get("source", "")),
                    built=False,
                )
            notes.append(f"the cached environment {key[:12]} was rebuilt: {why}")
            on_step("rebuild", why)
        if path.exists():
            if marker is None and entry_state(path) is None:
                raise UsageError(
                    f"{path} is in mlv's environment cache but not an environment mlv built",
                    "move it out of the cache directory",
                )
            discard(path)
        interpreter = find_interpreter(plan.record.python, python)
        result = build(
            plan,
            path,
            make_installer(),
            interpreter,
            options,
            about=about,
            on_step=on_step,
            hold=fd,
        )
        result.notes[:0] = notes
        return result


def list_cached() -> tuple[list[CachedEnv], list[Path]]:
    """Every environment in the cache, most recently used first, and the directories there
    that are not mlv's (left alone)."""
    root = cache_root()
    found = []
    ignored = []
    try:
        entries = sorted(p for p in root.iterdir() if p.is_dir())
    except FileNotFoundError:
        return [], []
    except OSError as exc:
        raise UsageError(
            f"cannot read the environment cache {root}: {exc.strerror}",
            f"point {CACHE_ENV} at a directory you can read",
        ) from None
    for path in entries:
        state = entry_state(path)
        if state is None:
            if not path.name.startswith("."):
                ignored.append(path)
            continue
        marker = ready(path) if state == "ready" else None
        stamp = path / MARKER if marker is not None else path
        found.append(
            CachedEnv(
                fingerprint=str(marker.get("fingerprint", path.name)) if marker else path.name,
                path=path,
                ready=marker is not None,
                python=str(marker.get("python", "")) if marker else "",
                rev=str(marker.get("rev", "")) if marker else "",
                commit=str(marker.get("commit", "")) if marker else "",
                built=str(marker.get("built", "")) if marker else "",
                last_used=stamp.stat().st_mtime,
                size=_size(path),
                building=is_locked(_lock(root, path.name)),
            )
        )
    return sorted(found, key=lambda e: -e.last_used), ignored


def remove_cached(prefixes: list[str], *, everything: bool = False) -> list[CachedEnv]:
    """Remove the cached environments whose fingerprint starts with one of ``prefixes`` (the
    ``xxh128:`` part optional), or all of them; an unmatched prefix is a UsageError. Only
    mlv's entries are candidates; a build that is running is waited for."""
    cached, _ = list_cached()
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
            if entry_state(entry.path) is not None:
                discard(entry.path)
    return chosen
