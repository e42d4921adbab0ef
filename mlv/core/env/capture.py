"""The environment record of the running interpreter: platform, distributions with their sources,
lockfiles, allowed variables, conda and CUDA details. Cheap by design (no METADATA parsing, no
heavy import): `mlv snapshot` and `mlv status` capture it every time."""

from __future__ import annotations

import os
import platform
import re
import sys
from collections.abc import Mapping
from pathlib import Path

import msgspec

from mlv.core.env.details import read_conda, read_cuda, read_source
from mlv.errors import UsageError
from mlv.model.distribution import is_own_package
from mlv.model.environment import (
    EnvironmentRecord,
    PlatformRecord,
    PythonRecord,
    SourceRecord,
    normalise,
)
from mlv.model.ids import ObjectId
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


def scan_distributions(root: Path | None = None) -> tuple[list[str], dict[str, SourceRecord]]:
    """``name==version`` of every distribution importable by this interpreter, sorted, and the
    source of those that did not come from an index (keyed by normalised name).

    Read from the ``name-version.dist-info`` directory names on ``sys.path`` (the wheel spec puts
    both there) and each one's ``direct_url.json`` (PEP 610), which costs a directory listing and
    a failed open per distribution instead of parsing every METADATA file; entries whose names do
    not follow the spec fall back to importlib.metadata. An editable install of ``root`` (the
    project itself) is recorded as such: it is code, not a package.
    """
    seen: dict[str, str] = {}
    sources: dict[str, SourceRecord] = {}
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
                name = normalise(match.group(1))
                if name in seen:
                    continue
                seen[name] = match.group(2)
                source = read_source(item.path, root)
                if source is not None and not is_own_package(f"{name}=={seen[name]}"):
                    sources[name] = source
    if irregular:
        from importlib import metadata

        for path in irregular:
            dist = metadata.PathDistribution(path)
            name = dist.metadata["Name"] if dist.metadata is not None else None
            if name:
                seen.setdefault(normalise(name), dist.version)
    packages = sorted(f"{name}=={version}" for name, version in seen.items())
    return packages, sources


def installed_packages() -> list[str]:
    """``name==version`` of every distribution importable by this interpreter, sorted."""
    return scan_distributions()[0]


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
    """What identifies an environment for reproduction: everything but the kernel release, the
    driver version and where local distributions lay on disk (which differ between machines
    that run the same environment)."""
    essence: tuple[object, ...] = (
        record.python,
        record.platform.system,
        record.platform.machine,
        record.packages,
        {k: str(v) for k, v in record.lockfiles.items()},
        record.variables,
    )
    if record.has_details:  # absent before schema 4: old fingerprints stay what they were
        cuda = record.cuda_stack
        essence += (
            {
                "sources": {
                    n: [s.kind, s.vcs, s.commit, s.url if s.kind in ("vcs", "url") else ""]
                    for n, s in record.package_sources.items()
                },
                "conda": record.conda_env,
                "cuda": None if cuda is None else [cuda.cuda, cuda.torch, cuda.cudnn],
            },
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
    packages, sources = scan_distributions(root)
    conda = read_conda()
    cuda = read_cuda(packages)
    record = EnvironmentRecord(
        fingerprint=ObjectId.xxh128("0" * 32),
        python=PythonRecord(platform.python_implementation(), platform.python_version()),
        platform=PlatformRecord(sys.platform, platform.machine(), platform.release()),
        packages=packages,
        lockfiles=lockfiles,
        variables=allowed_values(variables, os.environ, recording=store is not None),
        sources=sources or msgspec.UNSET,
        conda=msgspec.UNSET if conda is None else conda,
        cuda=msgspec.UNSET if cuda is None else cuda,
    )
    return msgspec.structs.replace(record, fingerprint=fingerprint(record))
