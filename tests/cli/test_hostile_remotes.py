"""Hostile remotes (issue #7): odd names, links and junk keys in a directory or object-store remote.

They read as missing objects or are refused with a clear error; nothing is read through a link
and nothing outside the repository and the remote changes.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from mlv.model.ids import ObjectId
from mlv.storage.hashing import hash_bytes
from tests.conftest import MlvRunner, git, tree_snapshot, write
from tests.hostile import objects, refused, store_of


def pushed_project(project: Path, mlv: MlvRunner, url: str, *how: str) -> list[str]:
    """A snapshot of six data files pushed to ``url`` (loose, format 1, unless ``how`` says
    otherwise); the ids of the data files."""
    for i in range(6):
        write(project / f"data/f{i}.bin", f"content {i}\n" * (i + 1))
    assert mlv("track", "data").code == 0
    assert mlv("remote", "add", "origin", url).code == 0
    assert mlv("snapshot", "-m", "data").code == 0
    assert mlv("push", *(how or ("--loose",))).code == 0
    return [str(hash_bytes((project / f"data/f{i}.bin").read_bytes())) for i in range(6)]


def remote_path(remote: Path, oid: str) -> Path:
    digest = oid.partition(":")[2]
    return remote / "xxh128" / digest[:2] / digest[2:]


def test_hostile_names_and_entries_in_a_directory_remote(
    project: Path,
    mlv: MlvRunner,
    tmp_path: Path,
    outside: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    remote = tmp_path / "remote"
    ids = pushed_project(project, mlv, str(remote))
    # Entries named like wanted objects that are not regular files.
    linked_file, linked_zero, fifo, linked_dir = ids[:4]
    for oid in ids[:4]:
        remote_path(remote, oid).chmod(0o644)
        remote_path(remote, oid).unlink()
    remote_path(remote, linked_file).symlink_to(outside / "secret.txt")
    remote_path(remote, linked_zero).symlink_to("/dev/zero")  # reading it would never end
    os.mkfifo(remote_path(remote, fifo))  # opening it for reading would block forever
    remote_path(remote, linked_dir).symlink_to(outside / "empty-dir")
    # Names that match nothing: not hex, wrong length, upper case, dots, a newline.
    fan = remote_path(remote, ids[4]).parent
    digest = ids[4].partition(":")[2]
    for junk in [
        "..x",
        "..",
        "z" * 30,
        digest[2:-1],
        digest[2:] + "0",
        digest[2:].upper(),
        "a\nb",
        digest[2:] + ".mlv-tmp",
    ]:
        if junk != "..":
            write(fan / junk, "junk")
    write(remote / "xxh128/zz/" / ("0" * 30), "junk")  # a fan-out directory that is not hex
    write(remote / "xxh128" / digest[:2].upper() / digest[2:], "junk")
    write(remote / "sha256/ab/cd", "junk")  # an algorithm this mlv does not know
    write(remote / "tmp/half-uploaded.tmp", "junk")
    write(remote / "tmp/sub/deeper", "junk")
    write(remote / "stray-file-at-root", "junk")
    outside_before = tree_snapshot(outside)

    # fetch, pull and verify --remote see the odd entries as missing objects; nothing is read
    # through them.
    other = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(project), str(other))
    monkeypatch.chdir(other)
    for args in (["fetch", "--json"], ["pull"]):
        result = mlv(*args)
        assert result.code == 1 and "Traceback" not in result.err, (args, result)
    fetched = objects(other)
    assert len(fetched) >= 3  # everything that was really there
    assert not any(oid in fetched for oid in ids[:4])
    assert not store_of(other).exists(hash_bytes(b"the secret outside\n"))
    monkeypatch.chdir(project)
    verified = mlv("verify", "--remote", "origin", "--json")
    assert verified.code == 1
    assert set(json.loads(verified.out)["remote_missing"]) == set(ids[:4])

    # push replaces each odd entry by the real object: the entry itself, never what it points to.
    result = mlv("push", "--loose", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["transferred"] == 4
    for oid in ids[:4]:
        path = remote_path(remote, oid)
        assert not path.is_symlink() and stat.S_ISREG(path.lstat().st_mode)
        assert str(hash_bytes(path.read_bytes())) == oid
    assert tree_snapshot(outside) == outside_before
    assert mlv("verify", "--remote", "origin").code == 0


@pytest.mark.parametrize("linked", ["xxh128", "fan-out", "tmp"])
def test_links_to_directories_inside_a_directory_remote_are_refused(
    project: Path,
    mlv: MlvRunner,
    tmp_path: Path,
    outside: Path,
    monkeypatch: pytest.MonkeyPatch,
    linked: str,
) -> None:
    remote = tmp_path / "remote"
    ids = pushed_project(project, mlv, str(remote))
    if linked == "fan-out":
        fan = remote_path(remote, ids[0]).parent
        os.rename(fan, outside / "moved")
        fan.symlink_to(outside / "moved")
    elif linked == "xxh128":
        os.rename(remote / "xxh128", outside / "moved")
        (remote / "xxh128").symlink_to(outside / "moved")
    else:
        (remote / "tmp").rmdir()
        (remote / "tmp").symlink_to(outside / "empty-dir")
    write(project / "data/new.bin", "a new file to push\n")
    assert mlv("snapshot", "-m", "more").code == 0
    outside_before = tree_snapshot(outside)
    commands = [["push"], ["verify", "--remote", "origin"]]
    for args in commands if linked != "tmp" else [["push"]]:
        refused(mlv(*args), "symbolic link")
    if linked != "tmp":
        other = tmp_path / "clone"
        git(tmp_path, "clone", "-q", str(project), str(other))
        monkeypatch.chdir(other)
        for args in (["fetch", "HEAD~1"], ["pull", "HEAD~1"]):  # the snapshot that was pushed
            refused(mlv(*args), "symbolic link")
        assert not store_of(other).exists(ObjectId.parse(ids[0]))
    assert tree_snapshot(outside) == outside_before


def test_junk_keys_in_an_object_store_remote_are_ignored(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys may hold what no file name can ('..', '/'): they match no object and are ignored."""
    import fsspec

    url = "memory://mlv-hostile-remote/store"
    ids = pushed_project(project, mlv, url)
    fs = fsspec.filesystem("memory")
    digest = ids[0].partition(":")[2]
    fan = f"/mlv-hostile-remote/store/xxh128/{digest[:2]}"
    fs.rm(f"{fan}/{digest[2:]}")
    for key in ["../../../../escaped", "../" + digest[2:], "x/../../y", digest[2:] + "/inside"]:
        fs.pipe(f"{fan}/{key}", b"junk")  # the last makes the object's name a "directory"
    fs.pipe("/mlv-hostile-remote/store/xxh128/../../outside", b"junk")
    try:
        other = tmp_path / "clone"
        git(tmp_path, "clone", "-q", str(project), str(other))
        monkeypatch.chdir(other)
        fetched = mlv("fetch", "--json")
        assert fetched.code == 1 and json.loads(fetched.out)["missing"] == [ids[0]]
        monkeypatch.chdir(project)
        verified = mlv("verify", "--remote", "origin", "--json")
        assert verified.code == 1 and json.loads(verified.out)["remote_missing"] == [ids[0]]
        assert not (tmp_path / "escaped").exists() and not (project / "escaped").exists()
    finally:
        fs.rm("/mlv-hostile-remote", recursive=True)


def _fetch_sees_nothing(
    mlv: MlvRunner, project: Path, other: Path, ids: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """fetch and verify --remote: every data file missing, promptly, without a traceback."""
    monkeypatch.chdir(other)
    fetched = mlv("fetch", "--json")
    assert fetched.code == 1 and "Traceback" not in fetched.err, fetched
    doc = json.loads(fetched.out)
    assert doc["transferred"] == 0 and not doc["corrupt"]
    monkeypatch.chdir(project)
    verified = mlv("verify", "--remote", "origin", "--json")
    assert verified.code == 1 and "Traceback" not in verified.err
    assert set(ids) <= set(json.loads(verified.out)["remote_missing"])


@pytest.mark.parametrize("planted", ["link", "fifo", "misnamed", "truncated", "garbage"])
def test_hostile_pack_indexes_in_a_directory_remote(
    project: Path,
    mlv: MlvRunner,
    tmp_path: Path,
    outside: Path,
    monkeypatch: pytest.MonkeyPatch,
    planted: str,
) -> None:
    """An index that is a link or a FIFO is no index (never opened: a FIFO would block); one
    whose name is not its digest, truncated or garbage is damaged: its objects are missing, and
    the next push puts a real pack and index back."""
    from mlv.storage.pack import decode_index, encode_index

    remote = tmp_path / "remote"
    ids = pushed_project(project, mlv, str(remote), "--json")
    index = next((remote / "packs").glob("*.idx"))
    genuine = index.read_bytes()
    index.chmod(0o644)
    index.unlink()
    if planted == "link":
        write(outside / "stolen.idx", genuine)
        index.symlink_to(outside / "stolen.idx")
    elif planted == "fifo":
        os.mkfifo(index)
    elif planted == "misnamed":
        entries = decode_index(genuine) or []
        index.write_bytes(encode_index({d: (k, o + 1, n) for d, k, o, n in entries}))
    elif planted == "truncated":
        index.write_bytes(genuine[: len(genuine) // 2])
    else:
        index.write_bytes(b"MLVIDX02" + os.urandom(200))
    other = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(project), str(other))
    outside_before = tree_snapshot(outside)
    _fetch_sees_nothing(mlv, project, other, ids, monkeypatch)
    assert tree_snapshot(outside) == outside_before

    pushed = mlv("push", "--json")  # the same objects: the same pack, put back in place
    assert pushed.code == 0 and json.loads(pushed.out)["packs"] == 1, pushed
    assert not index.is_symlink() and index.read_bytes() == genuine
    monkeypatch.chdir(other)
    assert mlv("pull").code == 0
    assert tree_snapshot(other / "data") == tree_snapshot(project / "data")
    assert tree_snapshot(outside) == outside_before


def test_hostile_pack_indexes_in_an_object_store_remote(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On an object store: a garbage index, and a genuine one under another name, hold
    nothing; an index far larger than any mlv writes is not even read."""
    import fsspec

    from mlv.storage import index_cache

    url = "memory://mlv-hostile-packs/store"
    ids = pushed_project(project, mlv, url, "--json")
    fs = fsspec.filesystem("memory")
    packs = "/mlv-hostile-packs/store/packs"
    [index] = [p for p in fs.ls(packs, detail=False) if p.endswith(".idx")]
    stem = index.rpartition("/")[2][: -len(".idx")]
    genuine = fs.cat_file(index)
    try:
        other = tmp_path / "clone"
        git(tmp_path, "clone", "-q", str(project), str(other))
        for forged in (b"garbage", genuine[:-1]):
            fs.pipe_file(index, forged)
            _fetch_sees_nothing(mlv, project, other, ids, monkeypatch)
        fs.rm_file(index)
        fs.pipe_file(f"{packs}/{'0' * 32}.idx", genuine)  # believed only under its own name
        fs.copy(f"{packs}/{stem}.pack", f"{packs}/{'0' * 32}.pack")
        _fetch_sees_nothing(mlv, project, other, ids, monkeypatch)
        fs.rm_file(f"{packs}/{'0' * 32}.idx")
        monkeypatch.setattr(index_cache, "MAX_INDEX", len(genuine) - 1)
        fs.pipe_file(index, genuine)  # larger than any index mlv writes: refused unread
        _fetch_sees_nothing(mlv, project, other, ids, monkeypatch)
    finally:
        fs.rm("/mlv-hostile-packs", recursive=True)
