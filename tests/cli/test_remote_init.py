"""A directory remote is created only when asked (issue #16): never by push, fetch or verify.

A typo in a path or an unmounted network share (which leaves an empty mount-point directory)
must be refused with exit 2, not become a new store on the local disk.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from mlv.adapters.remote import RemoteStore
from mlv.errors import UsageError
from mlv.model.remotes import RemoteDecl
from mlv.storage.hashing import hash_file
from tests.cli.test_remote import clone, snapshot_with_remote
from tests.conftest import MlvRunner, tree_snapshot, write
from tests.crash import store_objects
from tests.hostile import refused

MARKER = "mlv-remote.json"


def declare(project: Path, name: str, url: str) -> None:
    """A remote as another clone's committed mlv.toml declares it: no `mlv remote add` here."""
    toml = project / "mlv.toml"
    toml.write_text(toml.read_text() + f'\n[remotes.{name}]\nurl = "{url}"\ndefault = true\n')


def snapshot(project: Path, mlv: MlvRunner) -> None:
    write(project / "data/a.csv", "id\n1\n")
    assert mlv("track", "data").code == 0
    assert mlv("snapshot", "-m", "data").code == 0


def test_push_to_a_missing_directory_is_refused_and_creates_nothing(
    project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    snapshot(project, mlv)
    typo = tmp_path / "share" / "mlv-stroe"
    (tmp_path / "share").mkdir()
    declare(project, "origin", str(typo))
    result = mlv("push")
    refused(result, f"directory {typo} does not exist")
    assert "mlv remote init origin" in result.err
    assert not typo.exists()
    refused(mlv("verify", "--remote", "origin"), "does not exist")
    assert not typo.exists()


def test_push_into_an_empty_mount_point_is_refused_and_writes_nothing(
    project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    snapshot(project, mlv)
    mount_point = tmp_path / "mnt" / "team"
    mount_point.mkdir(parents=True)
    declare(project, "origin", str(mount_point))
    for args in (["push"], ["fetch"], ["pull"], ["verify", "--remote", "origin"]):
        result = mlv(*args)
        refused(result, "is not an initialised mlv remote (an empty mount point?)")
        assert "mlv remote init origin" in result.err
    assert list(mount_point.iterdir()) == []


def test_fetch_pull_verify_from_a_missing_directory_are_refused_and_create_nothing(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = tmp_path / "remote"
    snapshot_with_remote(project, mlv, str(remote))
    assert mlv("push").code == 0
    other = clone(project, tmp_path / "c", monkeypatch)
    unmounted = tmp_path / "unmounted"
    remote.rename(unmounted)  # the share is not mounted on this machine today
    for args in (["fetch"], ["pull"], ["verify", "--remote", "origin"]):
        refused(mlv(*args), f"directory {remote} does not exist")
        assert not remote.exists()
    assert not (other / "data").exists()
    unmounted.rename(remote)
    assert mlv("pull").code == 0


def test_remote_add_creates_and_marks_the_directory(
    project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    snapshot(project, mlv)
    missing_parent = tmp_path / "no-such-share" / "store"
    result = mlv("remote", "add", "origin", str(missing_parent))
    refused(result, f"{tmp_path / 'no-such-share'} does not exist")
    assert "--parents" in result.err
    assert not (tmp_path / "no-such-share").exists()
    assert "origin" not in mlv("remote", "list").out  # nothing was declared

    added = mlv("remote", "add", "origin", str(tmp_path / "store"))
    assert added.code == 0 and f"created {tmp_path / 'store'}" in added.out
    marker = json.loads((tmp_path / "store" / MARKER).read_text())
    assert marker["format"] == 1
    assert mlv("push").code == 0 and store_objects(tmp_path / "store")

    deep = tmp_path / "a" / "b" / "store"
    assert mlv("remote", "add", "deep", str(deep), "--parents").code == 0
    assert (deep / MARKER).is_file() and mlv("push", "-r", "deep").code == 0

    existing = tmp_path / "existing"
    existing.mkdir()
    adopted = mlv("remote", "add", "ex", str(existing))
    assert adopted.code == 0 and "initialised existing directory" in adopted.out
    assert mlv("push", "-r", "ex").code == 0


def test_a_second_clone_initialises_the_declared_remote_explicitly(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A relative URL: each place the project is cloned to has its own remote directory, so
    # the clone below sees the declared remote as missing, as another machine would.
    snapshot_with_remote(project, mlv, "../remote")
    assert (tmp_path / "remote" / MARKER).is_file()
    expected = tree_snapshot(project / "data")
    other = clone(project, tmp_path / "machine-b" / "clone", monkeypatch)
    shutil.copytree(project / ".mlv/cache", other / ".mlv/cache")  # this machine has the data
    theirs = tmp_path / "machine-b" / "remote"
    result = mlv("push")
    refused(result, f"directory {other / '../remote'} does not exist")
    assert "`mlv remote init origin`" in result.err and not theirs.exists()

    ready = mlv("remote", "init", "origin")
    assert ready.code == 0 and "created" in ready.out and (theirs / MARKER).is_file()
    again = mlv("remote", "init", "origin")
    assert again.code == 0 and "already initialised" in again.out
    assert mlv("push").code == 0
    third = clone(project, tmp_path / "machine-b" / "third", monkeypatch)
    assert mlv("pull").code == 0
    assert tree_snapshot(third / "data") == expected
    assert mlv("verify", "--remote", "origin").code == 0
    refused(mlv("remote", "init", "nope"), "no remote named 'nope'")


def test_a_remote_of_an_earlier_mlv_without_marker_stays_usable(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = tmp_path / "remote"
    snapshot_with_remote(project, mlv, str(remote))
    assert mlv("push", "--loose").code == 0
    (remote / MARKER).unlink()  # as an mlv from before the marker left it
    other = clone(project, tmp_path / "c", monkeypatch)
    assert mlv("pull").code == 0 and (other / "models/m.pkl").exists()
    assert mlv("verify", "--remote", "origin").code == 0
    assert not (remote / MARKER).exists()  # reading never writes to the remote
    monkeypatch.chdir(project)
    write(project / "models/m.pkl", b"v2")
    assert mlv("snapshot", "-m", "v2").code == 0
    assert mlv("push").code == 0
    assert (remote / MARKER).is_file()  # marked on the next push


@pytest.mark.parametrize("marker", ["garbage", "newer", "link", "fifo"])
def test_a_bad_marker_is_refused_and_init_replaces_a_damaged_one(
    project: Path, mlv: MlvRunner, tmp_path: Path, outside: Path, marker: str
) -> None:
    remote = tmp_path / "remote"
    snapshot(project, mlv)
    assert mlv("remote", "add", "origin", str(remote)).code == 0
    path = remote / MARKER
    path.unlink()
    if marker == "garbage":
        path.write_text("not json")
    elif marker == "newer":
        path.write_text('{"format": 3}')
    elif marker == "link":
        path.symlink_to(outside / "secret.txt")
    else:
        os.mkfifo(path)  # opening it for reading must not block
    needle = "upgrade mlv" if marker == "newer" else MARKER
    refused(mlv("push"), needle)
    assert not (remote / "xxh128").exists()
    if marker == "newer":
        refused(mlv("remote", "init", "origin"), "format 3")
    else:
        assert mlv("remote", "init", "origin").code == 0
        assert not path.is_symlink() and json.loads(path.read_text())["format"] == 1
        assert mlv("push").code == 0
    assert (outside / "secret.txt").read_text() == "the secret outside\n"


def test_a_root_that_vanishes_during_a_push_is_not_recreated(tmp_path: Path) -> None:
    """The unmount can happen after the check: uploads still never create the root."""
    root = tmp_path / "share" / "store"
    remote = RemoteStore(RemoteDecl("origin", str(root)), tmp_path)
    remote.init(parents=True)
    remote.check(writing=True)
    shutil.rmtree(root)
    source = tmp_path / "object"
    source.write_bytes(b"an object")
    with pytest.raises(UsageError, match="does not exist"):
        remote.upload(source, hash_file(source))
    assert not root.exists()


def test_remote_add_hints_fit_the_mistake(project: Path, mlv: MlvRunner) -> None:
    """A parent that is a file: --parents cannot help, so it is not suggested; --parents on a
    bucket URL is refused rather than ignored; nothing is declared either time."""
    (project.parent / "afile").write_text("x")
    under_file = mlv("remote", "add", "r", str(project.parent / "afile" / "sub"))
    assert under_file.code == 2
    assert "is not a directory" in under_file.err and "--parents" not in under_file.err
    bucket = mlv("remote", "add", "s3r", "s3://bucket/mlv", "--parents")
    assert bucket.code == 2 and "--parents applies to a directory remote" in bucket.err
    assert "[remotes" not in (project / "mlv.toml").read_text()
