"""Capture: distribution sources (PEP 610), conda, CUDA details, read from real files; the
record's schema 4 fields are written only when present, so older locks stay byte-identical."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import msgspec
import pytest

from mlv.core.env import details
from mlv.core.env.capture import capture, fingerprint, scan_distributions
from mlv.errors import ManifestError
from mlv.model.environment import SourceRecord
from mlv.model.manifest import ENV_DETAIL_VERSION, Lock, decode_lock, encode_lock
from tests.conftest import write


def dist(site: Path, name: str, version: str, direct: dict[str, object] | None = None) -> None:
    info = site / f"{name}-{version}.dist-info"
    write(info / "METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    if direct is not None:
        write(info / "direct_url.json", json.dumps(direct))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory of installed distributions, first on sys.path."""
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.setattr(sys, "path", [str(path), *sys.path])
    return path


def test_sources_of_local_vcs_editable_and_the_project_itself(site: Path, tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    dist(site, "from_index", "1.0")
    dist(
        site, "wheel_file", "2.0", {"url": "file:///wheels/wheel_file-2.0.whl", "archive_info": {}}
    )
    dist(site, "from_git", "0.3", {
        "url": "https://tok3n:x-oauth@git.example/repo.git",
        "vcs_info": {"vcs": "git", "commit_id": "a" * 40, "requested_revision": "main"},
    })  # fmt: skip
    dist(site, "elsewhere", "1.1", {"url": "file:///src/elsewhere", "dir_info": {"editable": True}})
    dist(site, "myproject", "0.0.1", {"url": root.as_uri(), "dir_info": {"editable": True}})
    dist(site, "mlv_cli", "0.1.0", {"url": "file:///x", "dir_info": {"editable": True}})
    packages, sources = scan_distributions(root)
    assert {"from-index==1.0", "wheel-file==2.0", "from-git==0.3", "myproject==0.0.1"} <= set(
        packages
    )
    assert "from-index" not in sources  # from an index: nothing to say
    assert sources["wheel-file"] == SourceRecord("local", "file:///wheels/wheel_file-2.0.whl")
    git = sources["from-git"]
    assert (git.kind, git.vcs, git.commit) == ("vcs", "git", "a" * 40)
    assert "tok3n" not in git.url and "git.example/repo.git" in git.url  # never recorded
    assert sources["elsewhere"].kind == "editable"
    assert sources["myproject"] == SourceRecord("project")  # code, not a package
    assert "mlv-cli" not in sources  # mlv itself is described by the writer record


def test_records_with_details_are_schema_4_and_roundtrip(site: Path, tmp_path: Path) -> None:
    vcs = {"vcs": "git", "commit_id": "b" * 40}
    dist(site, "from_git", "0.3", {"url": "https://git.example/r.git", "vcs_info": vcs})
    record = capture(tmp_path, (), None)
    assert record.package_sources["from-git"].commit == "b" * 40
    data = encode_lock(Lock(environment=record))
    assert json.loads(data)["schema"] == ENV_DETAIL_VERSION
    assert decode_lock(data) == Lock(schema=ENV_DETAIL_VERSION, environment=record)
    assert fingerprint(record) == record.fingerprint
    # The same content claimed as schema 3 cannot hold it.
    doc = json.loads(data)
    doc["schema"] = 3
    with pytest.raises(ManifestError, match="schema version 3 cannot say"):
        decode_lock(json.dumps(doc).encode())


def test_a_record_without_details_encodes_as_before() -> None:
    record = capture(Path.cwd(), (), None)
    plain = msgspec.structs.replace(
        record, sources=msgspec.UNSET, conda=msgspec.UNSET, cuda=msgspec.UNSET
    )
    data = encode_lock(Lock(environment=plain))
    doc = json.loads(data)
    assert doc["schema"] == 1
    assert set(doc["environment"]) == {
        "fingerprint", "python", "platform", "packages", "lockfiles", "variables",
    }  # fmt: skip
    # An empty sources map is "nothing to say", not a schema 4 field.
    empty = msgspec.structs.replace(plain, sources={})
    assert encode_lock(Lock(environment=empty)) == data


def test_conda_environment_is_read_from_conda_meta(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = tmp_path / "envs" / "ml"
    for name in ("numpy-1.26.4-py311h64a7726_0.json", "python-3.11.7-hab00c5b_0.json", "x.txt"):
        write(prefix / "conda-meta" / name, "{}")
    monkeypatch.setattr(sys, "prefix", str(prefix))
    monkeypatch.setenv("CONDA_PREFIX", str(prefix))
    monkeypatch.setenv("CONDA_DEFAULT_ENV", "ml-env")
    conda = details.read_conda()
    assert conda is not None
    assert conda.name == "ml-env" and conda.packages == ["numpy==1.26.4", "python==3.11.7"]
    monkeypatch.delenv("CONDA_PREFIX")
    assert details.read_conda() is not None and details.read_conda().name == "ml"  # type: ignore[union-attr]


def test_cuda_details_are_read_without_importing_torch(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert details.read_cuda(["numpy==2"]) is None or details.NVIDIA_VERSION_FILE.exists()
    driver = write(
        tmp_path / "nvidia-version",
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 01:44:30 UTC 2024\n",
    )
    monkeypatch.setattr(details, "NVIDIA_VERSION_FILE", driver)
    write(
        site / "torch" / "version.py",
        "from typing import Optional\n__version__ = '2.3.0+cu121'\n"
        "cuda: Optional[str] = '12.1'\nhip: Optional[str] = None\n",
    )
    write(site / "torch" / "__init__.py", "raise SystemExit('torch must not be imported')\n")
    cuda = details.read_cuda(["torch==2.3.0+cu121", "nvidia-cudnn-cu12==8.9.2.26"])
    assert cuda is not None
    assert (cuda.driver, cuda.cuda, cuda.torch, cuda.cudnn) == (
        "550.54.14", "12.1", "2.3.0+cu121", "8.9.2.26",
    )  # fmt: skip
    assert "torch" not in sys.modules


def test_the_fingerprint_of_a_record_without_details_is_what_earlier_mlv_computed() -> None:
    """Value computed by the mlv before schema 4: the same record must not read as changed."""
    from mlv.model.environment import EnvironmentRecord, PlatformRecord, PythonRecord
    from mlv.model.ids import ObjectId
    from mlv.storage.hashing import hash_bytes

    old = EnvironmentRecord(
        ObjectId.xxh128("0" * 32),
        PythonRecord("CPython", "3.11.7"),
        PlatformRecord("linux", "x86_64", "6.1"),
        ["a==1", "b==2.0"],
        {"requirements.txt": hash_bytes(b"a==1\n")},
        {"SEED": "1"},
    )
    assert fingerprint(old) == "xxh128:79837117ba03daf5760ca7cbe6d0c25c"
    detailed = msgspec.structs.replace(old, sources={"a": SourceRecord("project")})
    assert fingerprint(detailed) != fingerprint(old)
    moved = msgspec.structs.replace(old, sources={"a": SourceRecord("local", "file:///elsewhere")})
    relocated = msgspec.structs.replace(old, sources={"a": SourceRecord("local", "file:///other")})
    assert fingerprint(moved) == fingerprint(relocated)  # where a wheel lay is not the environment
