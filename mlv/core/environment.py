"""The environment record: interpreter, platform, installed distributions, lockfiles, variables."""

from __future__ import annotations

import os
import platform
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from mlv.errors import UsageError
from mlv.model.ids import ObjectId
from mlv.model.manifest import EnvironmentRecord, PlatformRecord, PythonRecord
from mlv.model.secrets import REDACTED, text_credentials
from mlv.storage.hashing import hash_bytes, hash_file
from mlv.storage.store import ObjectStore

# Lockfiles looked for at the repository root. requirements*.txt is matched by pattern.
LOCKFILE_NAMES = (
    "uv.lock",
    "poetry.lock",
    "pdm.lock",
    "Pipfile.lock",
    "environment.yml",
    "environment.yaml",
    "conda-lock.yml",
    "pixi.lock",
)
_REQUIREMENTS = re.compile(r"^requirements[\w.-]*\.(txt|in)$")


_DIST_DIR = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._]*?)-([0-9][^-]*?)\.(dist-info|egg-info)$")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_packages() -> list[str]:
    """``name==version`` of every distribution importable by this interpreter, sorted.

    Read from the ``name-version.dist-info`` directory names on ``sys.path`` (the wheel spec puts
    both there), which costs a directory listing instead of parsing every METADATA file; entries
    whose names do not follow the spec fall back to importlib.metadata.
    """
    seen: dict[str, str] = {}
    irregular: list[Path] = []
    for entry in sys.path:
        try:
            listing = os.scandir(entry or ".")
        except OSError:
            continue
        with listing:
            for item in listing:
                if not item.name.endswith((".dist-info", ".egg-info")):
                    continue
                match = _DIST_DIR.match(item.name)
                if match is None:
                    irregular.append(Path(item.path))
                    continue
                seen.setdefault(_normalise(match.group(1)), match.group(2))
    if irregular:
        from importlib import metadata

        for path in irregular:
            dist = metadata.PathDistribution(path)
            name = dist.metadata["Name"] if dist.metadata is not None else None
            if name:
                seen.setdefault(_normalise(name), dist.version)
    return sorted(f"{name}=={version}" for name, version in seen.items())


def find_lockfiles(root: Path) -> list[str]:
    names = []
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.is_file() and (
                entry.name in LOCKFILE_NAMES or _REQUIREMENTS.match(entry.name)
            ):
                names.append(entry.name)
    return sorted(names)


def fingerprint(record: EnvironmentRecord) -> ObjectId:
    """What identifies an environment for reproduction: everything but the kernel release."""
    essence = (
        record.python,
        record.platform.system,
        record.platform.machine,
        record.packages,
        {k: str(v) for k, v in record.lockfiles.items()},
        record.variables,
    )
    return hash_bytes(msgspec.json.encode(essence, order="sorted"))


def allowed_values(
    names: tuple[str, ...], environ: Mapping[str, str], *, recording: bool
) -> dict[str, str]:
    """The allow-listed variables that are set; one whose value carries credentials is refused
    when ``recording`` (and shown as ``***`` otherwise: status only compares).

    The names were checked when mlv.toml was read; a harmless name (DATABASE_URL) may still hold
    a password in its value, and mlv.lock would keep it in git history for good.
    """
    values = {name: environ[name] for name in names if name in environ}
    for name, value in values.items():
        found = text_credentials(value)
        if found is not None and not recording:
            values[name] = REDACTED  # never recorded like this, so it reads as "changed"
        elif found is not None:
            raise UsageError(
                f"[env] variable {name} holds an address with {found}; mlv will not record it",
                "keep the credentials out of its value (use the backend's own credential"
                " store), or remove the variable from [env] variables in mlv.toml",
            )
    return values


def capture(root: Path, variables: tuple[str, ...], store: ObjectStore | None) -> EnvironmentRecord:
    """Describe the running environment; lockfiles are stored as objects when ``store`` is given."""
    lockfiles: dict[str, ObjectId] = {}
    for name in find_lockfiles(root):
        path = root / name
        lockfiles[name] = store.add_bytes(path.read_bytes()) if store else hash_file(path)
    record = EnvironmentRecord(
        fingerprint=ObjectId.xxh128("0" * 32),
        python=PythonRecord(platform.python_implementation(), platform.python_version()),
        platform=PlatformRecord(sys.platform, platform.machine(), platform.release()),
        packages=installed_packages(),
        lockfiles=lockfiles,
        variables=allowed_values(variables, os.environ, recording=store is not None),
    )
    return msgspec.structs.replace(record, fingerprint=fingerprint(record))


@dataclass(frozen=True, slots=True)
class EnvDrift:
    """How the current environment differs from a recorded one."""

    python: tuple[str, str] | None
    platform: tuple[str, str] | None
    added: list[str]
    removed: list[str]
    changed: list[tuple[str, str, str]]  # name, recorded version, current version
    lockfiles: list[str]
    variables: list[str]

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape documented in docs/json.md (status and reproduce)."""
        return {
            "changed": self.any,
            "python": list(self.python) if self.python else None,
            "platform": list(self.platform) if self.platform else None,
            "packages_added": self.added,
            "packages_removed": self.removed,
            "packages_changed": [
                {"name": n, "recorded": a, "current": b} for n, a, b in self.changed
            ],
            "lockfiles_changed": self.lockfiles,
            "variables_changed": self.variables,
        }

    @property
    def any(self) -> bool:
        return bool(
            self.python
            or self.platform
            or self.added
            or self.removed
            or self.changed
            or self.lockfiles
            or self.variables
        )


def _versions(packages: list[str]) -> dict[str, str]:
    return dict(p.split("==", 1) for p in packages if "==" in p)


def compare(recorded: EnvironmentRecord, current: EnvironmentRecord) -> EnvDrift:
    def desc_python(r: EnvironmentRecord) -> str:
        return f"{r.python.implementation} {r.python.version}"

    def desc_platform(r: EnvironmentRecord) -> str:
        return f"{r.platform.system}-{r.platform.machine}"

    old, new = _versions(recorded.packages), _versions(current.packages)
    lock_names = set(recorded.lockfiles) | set(current.lockfiles)
    var_names = set(recorded.variables) | set(current.variables)
    return EnvDrift(
        python=None
        if recorded.python == current.python
        else (desc_python(recorded), desc_python(current)),
        platform=None
        if desc_platform(recorded) == desc_platform(current)
        else (desc_platform(recorded), desc_platform(current)),
        added=sorted(f"{n}=={new[n]}" for n in new.keys() - old.keys()),
        removed=sorted(f"{n}=={old[n]}" for n in old.keys() - new.keys()),
        changed=sorted((n, old[n], new[n]) for n in old.keys() & new.keys() if old[n] != new[n]),
        lockfiles=sorted(
            n for n in lock_names if recorded.lockfiles.get(n) != current.lockfiles.get(n)
        ),
        variables=sorted(
            n for n in var_names if recorded.variables.get(n) != current.variables.get(n)
        ),
    )
