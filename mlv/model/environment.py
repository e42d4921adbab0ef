"""The environment record of ``mlv.lock``: interpreter, platform, distributions and where they came
from, lockfiles (as objects), allowed variables, and conda and CUDA details when present.

Fields added after schema version 3 (``sources``, ``conda``, ``cuda``) are UNSET when there is
nothing to say, so a record without them encodes exactly as older mlv wrote it.
"""

from __future__ import annotations

import re
from typing import Literal

import msgspec

from mlv.model.ids import ObjectId

# Where a distribution came from when it did not come from a package index (PEP 610's
# direct_url.json): a local wheel or directory, an archive URL, an editable install, a
# version-control URL, or the project itself installed editable from its own work tree (code,
# not a package).
SourceKind = Literal["local", "url", "editable", "vcs", "project"]

# What a record may hold in a ``name==version`` entry: a PEP 508 name and a PEP 440-shaped
# version. Anything else (spaces, quotes, `;`, `$(...)`) is a damaged or hand-edited record.
NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+!_-]*$")


class PythonRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    implementation: str
    version: str


class PlatformRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    system: str
    machine: str
    release: str


class SourceRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Where one distribution came from (absent for an index): ``url`` (credentials removed),
    and for a VCS install the tool and commit."""

    kind: SourceKind
    url: str = ""
    vcs: str = ""
    commit: str = ""

    def describe(self) -> str:
        if self.kind == "vcs":
            return f"{self.vcs or 'vcs'} {self.url}@{self.commit[:12]}"
        if self.kind == "project":
            return "the project itself (editable)"
        return f"{self.kind} {self.url}".rstrip()


class CondaRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The conda environment mlv ran in: its name and its packages (``name==version``)."""

    name: str
    packages: list[str]


class CudaRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """GPU stack details when present: the NVIDIA driver, the CUDA version torch was built
    for, torch's own version (with its build tag, e.g. ``2.3.0+cu121``) and cuDNN's."""

    driver: str = ""
    cuda: str = ""
    torch: str = ""
    cudnn: str = ""


class EnvironmentRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Interpreter, platform, installed distributions, lockfiles (as objects), allowed variables,
    and (schema 4) distribution sources, conda and CUDA details."""

    fingerprint: ObjectId
    python: PythonRecord
    platform: PlatformRecord
    packages: list[str]
    lockfiles: dict[str, ObjectId] = {}
    variables: dict[str, str] = {}
    sources: dict[str, SourceRecord] | msgspec.UnsetType = msgspec.UNSET
    conda: CondaRecord | msgspec.UnsetType = msgspec.UNSET
    cuda: CudaRecord | msgspec.UnsetType = msgspec.UNSET

    @property
    def package_sources(self) -> dict[str, SourceRecord]:
        return {} if isinstance(self.sources, msgspec.UnsetType) else self.sources

    @property
    def conda_env(self) -> CondaRecord | None:
        return None if isinstance(self.conda, msgspec.UnsetType) else self.conda

    @property
    def cuda_stack(self) -> CudaRecord | None:
        return None if isinstance(self.cuda, msgspec.UnsetType) else self.cuda

    @property
    def has_details(self) -> bool:
        """Whether it holds a field of schema version 4."""
        return (
            bool(self.package_sources)
            or self.conda_env is not None
            or (self.cuda_stack is not None)
        )

    def versions(self) -> dict[str, str]:
        """Normalised distribution name -> version."""
        result = {}
        for entry in self.packages:
            name, sep, version = entry.partition("==")
            if sep:
                result[normalise(name)] = version
        return result


def normalise(name: str) -> str:
    """A distribution name as package indexes compare them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()
