"""Details of the environment read from files, never by importing what they describe: where a
distribution came from (PEP 610 ``direct_url.json``), the conda environment (``conda-meta``), and
the GPU stack (the NVIDIA driver's ``/proc`` file, ``torch/version.py`` as text)."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from mlv.model.environment import CondaRecord, CudaRecord, SourceRecord
from mlv.model.secrets import redact_url

NVIDIA_VERSION_FILE = Path("/proc/driver/nvidia/version")
_DRIVER = re.compile(r"Kernel Module\s+(?:for\s+\S+\s+)?([0-9][0-9.]*)")
_TORCH_FIELD = re.compile(r"^(__version__|cuda|hip)\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.M)


def _local_path(url: str) -> Path | None:
    parts = urlsplit(url)
    return Path(unquote(parts.path)) if parts.scheme == "file" else None


def read_source(dist_info: str, root: Path | None) -> SourceRecord | None:
    """The source of the distribution whose metadata directory is ``dist_info``; None when it
    came from an index (no direct_url.json) or the file is unreadable."""
    try:
        with open(os.path.join(dist_info, "direct_url.json"), "rb") as f:
            data = json.loads(f.read(65536))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        return None
    url = redact_url(data["url"])  # a token in a private index or VCS URL stays out of git
    vcs = data.get("vcs_info")
    if isinstance(vcs, dict):
        return SourceRecord("vcs", url, str(vcs.get("vcs", "")), str(vcs.get("commit_id", "")))
    local = _local_path(url)
    dir_info = data.get("dir_info")
    if isinstance(dir_info, dict) and dir_info.get("editable"):
        if local is not None and root is not None and _within(local, root):
            return SourceRecord("project")
        return SourceRecord("editable", url)
    return SourceRecord("local" if local is not None else "url", url)


def _within(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return True


def _conda_prefix() -> Path | None:
    for prefix in (sys.prefix, sys.base_prefix):
        if os.path.isdir(os.path.join(prefix, "conda-meta")):
            return Path(prefix)
    return None


def read_conda() -> CondaRecord | None:
    """The conda environment this interpreter belongs to: its name (``CONDA_DEFAULT_ENV`` when
    that is the active one, else the prefix's directory name) and its packages, read from the
    ``conda-meta/NAME-VERSION-BUILD.json`` file names."""
    prefix = _conda_prefix()
    if prefix is None:
        return None
    packages = []
    try:
        with os.scandir(prefix / "conda-meta") as entries:
            for entry in entries:
                if entry.name.endswith(".json"):
                    parts = entry.name[: -len(".json")].rsplit("-", 2)
                    if len(parts) == 3:
                        packages.append(f"{parts[0]}=={parts[1]}")
    except OSError:
        return None
    active = os.environ.get("CONDA_PREFIX")
    name = os.environ.get("CONDA_DEFAULT_ENV", "") if active == str(prefix) else ""
    return CondaRecord(name or prefix.name, sorted(packages))


def _read_text(path: Path, limit: int = 65536) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode(errors="replace")
    except OSError:
        return None


def _torch_build() -> dict[str, str]:
    """``torch/version.py``'s fields, read as text from the first ``sys.path`` entry with it."""
    for entry in sys.path:
        text = _read_text(Path(entry or ".") / "torch" / "version.py")
        if text is not None:
            return {m.group(1): m.group(2) for m in _TORCH_FIELD.finditer(text)}
    return {}


def read_cuda(packages: list[str]) -> CudaRecord | None:
    """The NVIDIA driver version, and what torch was built for (CUDA version, its own version with
    the build tag) and the cuDNN wheel's version; None without a driver and without a CUDA torch."""
    text = _read_text(NVIDIA_VERSION_FILE)
    match = _DRIVER.search(text or "")
    driver = match.group(1) if match else ""
    torch: dict[str, str] = {}
    if any(p.startswith("torch==") for p in packages):
        torch = _torch_build()
    if not driver and not torch.get("cuda"):
        return None
    cudnn = next((p.partition("==")[2] for p in packages if p.startswith("nvidia-cudnn-")), "")
    return CudaRecord(driver, torch.get("cuda", ""), torch.get("__version__", ""), cudnn)
