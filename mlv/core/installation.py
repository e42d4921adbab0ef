"""The running mlv as installed: its version, its distribution, and how it was installed (the
record of the writer that mlv.lock carries; a restore reads it to get the same mlv back)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import mlv
from mlv.model.distribution import DISTRIBUTION
from mlv.model.manifest import Install, WriterRecord


def running_version() -> str:
    """The version of the mlv that is running (``mlv/__init__.py``, the one place it is set)."""
    version: str = mlv.__version__
    return version


@lru_cache(maxsize=1)
def writer_record() -> WriterRecord:
    """The record of the running mlv that mlv.lock carries (version, distribution, install)."""
    return WriterRecord(running_version(), DISTRIBUTION, _install_kind())


def _install_kind() -> Install:
    from importlib import metadata

    package = Path(mlv.__file__ or "").resolve().parent
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "source"
    if dist.version != running_version():
        return "source"  # the installed mlv-cli is not the code that runs
    direct = dist.read_text("direct_url.json")
    if direct is None:
        # No PEP 610 record: pip, uv and pipx installed it from an index (or find-links).
        installed = Path(str(dist.locate_file("mlv/__init__.py"))).resolve()
        return "index" if installed.parent == package else "source"
    try:
        url = json.loads(direct)
    except ValueError:
        return "local"
    if not isinstance(url, dict):
        return "local"
    if "vcs_info" in url:
        return "vcs"
    dir_info = url.get("dir_info")
    if isinstance(dir_info, dict) and dir_info.get("editable"):
        return "editable"
    return "local"


def running_requirement() -> tuple[str | None, Path | None]:
    """How to put the running mlv into another environment: a requirement to install (from an
    index, a local wheel or a VCS URL), or a source directory to link (editable or not
    installed). One of the two is None."""
    from importlib import metadata

    record = writer_record()
    source_root = Path(mlv.__file__ or "").resolve().parent.parent
    if record.install == "index":
        return f"{DISTRIBUTION}=={record.version}", None
    if record.install in ("editable", "source"):
        return None, source_root
    direct = metadata.distribution(DISTRIBUTION).read_text("direct_url.json") or "{}"
    try:
        url = json.loads(direct)
    except ValueError:
        url = {}
    location = url.get("url") if isinstance(url, dict) else None
    if not isinstance(location, str) or not location:
        return None, source_root
    vcs = url.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("commit_id"):
        return f"{DISTRIBUTION} @ {vcs.get('vcs', 'git')}+{location}@{vcs['commit_id']}", None
    return f"{DISTRIBUTION} @ {location}", None
