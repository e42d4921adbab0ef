"""Packed push is the default (docs/remotes.md): packs of bounded size uploaded in order while
the next is built, remote indexes read once and cached, and one file per object on request."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from mlv.adapters.remote_packs import RemotePacks
from mlv.core.project import open_project
from mlv.core.remote import pack_out as pack_transfer
from mlv.core.remote.push import push
from mlv.core.remote.resolve import index_cache_of, open_remote
from tests.cli.test_remote import clone
from tests.conftest import MlvRunner, tree_snapshot, write
from tests.crash import assert_store_consistent, packed_entries


class Recorder:
    """A progress callback that keeps what it is told (from any thread)."""

    def __init__(self) -> None:
        self.total: int | None = None
        self.done = 0
        self.lock = threading.Lock()

    def start(self, description: str, total: int | None, unit: str = "files") -> None:
        self.total = total

    def advance(self, amount: int = 1) -> None:
        with self.lock:
            self.done += amount

    def finish(self) -> None:
        pass


def _project_with_files(project: Path, mlv: MlvRunner, remote: str, count: int) -> None:
    for i in range(count):
        write(project / f"data/f{i:02}.bin", os.urandom(30_000))
    assert mlv("track", "data").code == 0
    assert mlv("remote", "add", "origin", remote).code == 0
    assert mlv("snapshot", "-m", "v1").code == 0


def test_a_push_in_several_packs_lands_them_all_and_reports_them(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pack_transfer, "REMOTE_PACK_LIMIT", 64 * 1024)
    remote = tmp_path / "remote"
    _project_with_files(project, mlv, str(remote), 20)
    progress = Recorder()
    result = push(open_project(project), progress=progress)
    indexes = sorted((remote / "packs").glob("*.idx"))
    assert result.complete and result.packs == len(indexes) >= 6  # 3 files of 30 kB a pack
    assert result.bytes == sum(p.with_suffix(".pack").stat().st_size for p in indexes)
    assert progress.total == progress.done > 20 * 30_000  # every object's bytes, once landed
    assert_store_consistent(remote)
    assert not list((project / ".mlv/cache/tmp").glob("*.pack*"))  # outgoing packs removed
    copy = clone(project, tmp_path / "copy", monkeypatch)
    assert mlv("pull").code == 0
    assert tree_snapshot(copy / "data") == tree_snapshot(project / "data")


def test_remote_indexes_are_read_once_and_cached_verified(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = tmp_path / "remote"
    _project_with_files(project, mlv, str(remote), 3)
    assert mlv("push").code == 0
    copy = clone(project, tmp_path / "copy", monkeypatch)
    assert mlv("pull").code == 0
    local = open_project(copy)
    cache = index_cache_of(local)
    [cached] = cache.glob("*.idx")
    assert cached.read_bytes() == (remote / "packs" / cached.name).read_bytes()

    reader = RemotePacks(open_remote(local, None), cache)
    assert len(reader.entries()) == 5 and reader.indexes_read == 0  # 3 files, tree, code
    cached.write_bytes(cached.read_bytes()[:-1])  # a damaged copy is read again
    reader = RemotePacks(open_remote(local, None), cache)
    assert len(reader.entries()) == 5 and reader.indexes_read == 1
    assert cached.read_bytes() == (remote / "packs" / cached.name).read_bytes()

    monkeypatch.chdir(project)
    write(project / "data/new.bin", "one more\n")
    assert mlv("snapshot", "-m", "v2").code == 0
    assert mlv("push").code == 0
    reader = RemotePacks(open_remote(local, None), cache)
    assert reader.indexes_read == 0 and len(reader.entries()) == 7  # the new file, its tree
    assert reader.indexes_read == 1  # only the new pack's index came from the remote


def test_loose_push_on_request_and_a_loose_remote_becoming_format_2(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`packs = false` on a remote (or push --loose) writes one file per object and leaves the
    remote format 1; a packed push to it then marks it format 2 and says so."""
    remote = tmp_path / "remote"
    _project_with_files(project, mlv, str(remote), 3)
    toml = project / "mlv.toml"
    toml.write_text(toml.read_text().replace('url = "', 'packs = false\nurl = "', 1))
    loose = json.loads(mlv("push", "--json").out)
    assert loose["complete"] and loose["packs"] == 0 and not loose["format_raised"]
    assert not (remote / "packs").exists() and (remote / "xxh128").is_dir()
    assert json.loads((remote / "mlv-remote.json").read_text())["format"] == 1

    toml.write_text(toml.read_text().replace("packs = false\n", ""))
    write(project / "data/new.bin", "one more\n")
    assert mlv("snapshot", "-m", "v2").code == 0
    packed = mlv("push")
    assert packed.code == 0 and "in 1 pack(s)" in packed.out
    assert "remote origin is now format 2" in packed.out and "packs = false" in packed.out
    assert json.loads((remote / "mlv-remote.json").read_text())["format"] == 2
    assert len(list(packed_entries(remote))) == 2  # the new file and its tree
    copy = clone(project, tmp_path / "copy", monkeypatch)
    assert mlv("pull").code == 0  # from loose objects and a pack together
    assert tree_snapshot(copy / "data") == tree_snapshot(project / "data")
    assert mlv("verify", "--remote", "origin").code == 0


def test_gc_counts_a_packed_remote_as_backup_unless_it_cannot_be_read(
    project: Path, mlv: MlvRunner
) -> None:
    """gc removes local history that a packed remote holds; a remote whose packs/ is a link
    (never followed) holds nothing, and gc keeps the objects."""
    from tests.cli.test_gc import gc_json, stored, tracked, version

    tracked(project, mlv)
    assert mlv("remote", "add", "origin", "../remote", "--default").code == 0
    one = version(project, mlv, "one\n")
    assert mlv("push").code == 0
    version(project, mlv, "two\n")
    packs = project.parent / "remote" / "packs"
    packs.rename(project.parent / "elsewhere")
    packs.symlink_to(project.parent / "elsewhere")
    result = mlv("gc", "--workspace")
    assert result.code == 0 and "remote origin could not be checked" in result.err
    assert one <= stored(project)
    packs.unlink()
    (project.parent / "elsewhere").rename(packs)
    doc = gc_json(mlv, "--workspace")
    assert doc["removed_objects"] >= 1 and doc["unbacked_objects"] == 0
    assert not one <= stored(project)
    assert mlv("pull", "HEAD~1").code == 0  # fetched back out of the pack
