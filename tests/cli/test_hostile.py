"""Hostile and malformed input (issue #7): a clear error, exit 2, nothing written outside.

Every test plants real bytes (a forged mlv.lock, a forged tree object, odd names on disk or in a
remote) and runs the real CLI; each asserts the exit code, the error and hint lines, and that
nothing appeared where it must not.
"""

from __future__ import annotations

import builtins
import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlv.model import manifest
from mlv.model.ids import ObjectId
from mlv.model.tree import encode_tree
from mlv.storage.hashing import hash_bytes
from mlv.storage.store import MAX_IN_MEMORY, ObjectStore
from tests.conftest import MlvRunner, Result, git, tree_snapshot, write
from tests.model.test_manifest import MALFORMED

# Spellings of ".git" that some file system (NTFS, HFS+, any case-insensitive one) opens as the
# repository's own directory.
GIT_NAMES = [".git", ".GIT", "git~1", ".git.", ".git ", ".g\u200cit", "\ufeff.Git"]


def refused(result: Result, needle: str) -> None:
    """Exit 2, one error line naming ``needle``, a hint, no traceback."""
    assert result.code == 2, (result.code, result.err)
    assert result.err.startswith("error: ") and needle in result.err, result.err
    assert "\nhint: " in result.err and "Traceback" not in result.err


def store_of(project: Path) -> ObjectStore:
    return ObjectStore(project / ".mlv/cache")


def objects(project: Path) -> set[str]:
    root = project / ".mlv/cache/xxh128"
    return {str(p.relative_to(root)) for p in root.glob("*/*")} if root.exists() else set()


def edit_lock(project: Path, mutate: Callable[[dict[str, Any]], None]) -> None:
    doc = json.loads((project / "mlv.lock").read_text())
    mutate(doc)
    (project / "mlv.lock").write_text(json.dumps(doc))


def point_artifact(project: Path, path: str, oid: ObjectId, **fields: object) -> None:
    """Make artifact ``path`` of mlv.lock name ``oid`` (and any other record fields)."""

    def mutate(doc: dict[str, Any]) -> None:
        doc["artifacts"][path].update({"id": str(oid), **fields})

    edit_lock(project, mutate)


def tracked_dir(project: Path, mlv: MlvRunner) -> None:
    write(project / "data/a.csv", "a\n")
    assert mlv("track", "data").code == 0
    assert mlv("snapshot", "-m", "data").code == 0


# -- 1. .git anywhere -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", GIT_NAMES)
def test_lock_naming_a_git_directory_is_refused(project: Path, mlv: MlvRunner, name: str) -> None:
    write(project / "d.csv", "#!/bin/sh\necho pwned\n")
    mlv("track", "d.csv")
    mlv("snapshot")

    def plant(doc: dict[str, Any]) -> None:
        doc["artifacts"][f"data/{name}/hooks/post-checkout"] = doc["artifacts"].pop("d.csv")

    edit_lock(project, plant)
    before = tree_snapshot(project)
    for args in (["checkout"], ["checkout", "--force"], ["status"], ["show"], ["snapshot"]):
        refused(mlv(*args), ".git component")
    assert tree_snapshot(project) == before


@pytest.mark.parametrize("name", GIT_NAMES)
@pytest.mark.parametrize("where", ["entry", "nested entry", "empty dir"])
def test_tree_object_naming_a_git_directory_is_refused(
    project: Path, mlv: MlvRunner, name: str, where: str
) -> None:
    tracked_dir(project, mlv)
    store = store_of(project)
    hook = store.add_bytes(b"#!/bin/sh\ntouch pwned\n")
    entries = [("a.csv", str(store.add_bytes(b"a\n")), 2, False)]
    dirs: list[str] = []
    if where == "entry":
        entries.append((f"{name}/hooks/post-checkout", str(hook), 22, True))
    elif where == "nested entry":
        entries.append((f"sub/{name}/config", str(hook), 22, False))
    else:
        dirs.append(f"sub/{name}")
    evil = store.add_bytes(encode_tree(entries, dirs))
    point_artifact(project, "data", evil)
    for args in (["checkout", "--force"], ["checkout", "--force", "--", "data/sub"]):
        result = mlv(*args)
        assert result.code == 2 and "tree" in result.err and ".git component" in result.err
    assert sorted(p.name for p in (project / "data").iterdir()) == ["a.csv"]
    assert not (project / "pwned").exists()


def test_snapshot_of_a_directory_holding_a_git_repository_is_refused(
    project: Path, mlv: MlvRunner
) -> None:
    tracked_dir(project, mlv)
    subprocess.run(["git", "init", "-q", str(project / "data/vendored")], check=True)
    write(project / "data/vendored/x.csv", "x\n")
    lock_before, objects_before = (project / "mlv.lock").read_bytes(), objects(project)
    for args in (["snapshot"], ["status"]):
        result = mlv(*args)
        refused(result, "data/vendored/.git/")
        assert "nested git repository" in result.err
    assert (project / "mlv.lock").read_bytes() == lock_before
    assert objects(project) == objects_before


@pytest.mark.parametrize("name", ["bad\nname.csv", "back\\slash.csv", "tab\there", "del\x7f"])
def test_snapshot_refuses_names_a_tree_cannot_hold(
    project: Path, mlv: MlvRunner, name: str
) -> None:
    """Such a tree used to be stored and committed, and then no checkout could read it."""
    tracked_dir(project, mlv)
    write(project / "data/sub" / name, "x\n")
    lock_before, objects_before = (project / "mlv.lock").read_bytes(), objects(project)
    result = mlv("snapshot")
    refused(result, "invalid path")
    assert "rename it" in result.err
    assert (project / "mlv.lock").read_bytes() == lock_before
    assert objects(project) == objects_before


@pytest.mark.parametrize("name", ["data/.git", "data/.GIT/x", "data/git~1", ".git"])
def test_git_directories_cannot_be_tracked_or_declared(
    project: Path, mlv: MlvRunner, name: str
) -> None:
    write(project / name / "f", "x")
    refused(mlv("track", name), ".git component")
    toml = project / "mlv.toml"
    toml.write_text(toml.read_text() + f'[artifacts."{name}"]\nkind = "data"\n')
    for args in (["status"], ["snapshot"]):
        refused(mlv(*args), ".git")
    assert not (project / "mlv.lock").exists()


# -- 2. Case and Unicode twins --------------------------------------------------------------------

CASE_TWINS = [
    ("A.csv", "a.csv"),
    ("\u00e9t\u00e9.csv", "e\u0301te\u0301.csv"),  # NFC and NFD spellings of one name
    ("Sub/x.csv", "sub/y.csv"),  # two directories that are one
    ("README", "readme/x"),  # a file and a directory
]


@pytest.fixture
def case_sensitive(tmp_path: Path) -> None:
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "A").write_text("1")
    (probe / "a").write_text("2")
    (probe / "\u00e9").write_text("3")
    (probe / "e\u0301").write_text("4")
    if len(list(probe.iterdir())) != 4:
        pytest.skip("this file system folds case or normalises names")


@pytest.mark.parametrize("twins", CASE_TWINS)
def test_tree_object_with_twins_is_refused(
    project: Path, mlv: MlvRunner, twins: tuple[str, str]
) -> None:
    tracked_dir(project, mlv)
    store = store_of(project)
    first, second = store.add_bytes(b"first\n"), store.add_bytes(b"second\n")
    evil = store.add_bytes(
        encode_tree([(twins[0], first, 6, False), (twins[1], second, 7, False)], [])
    )
    point_artifact(project, "data", evil)
    before = tree_snapshot(project / "data")
    for args in (["checkout", "--force"], ["status"]):
        result = mlv(*args)
        refused(result, "case-insensitive")
    assert tree_snapshot(project / "data") == before


@pytest.mark.parametrize("twins", CASE_TWINS)
def test_lock_with_twin_artifacts_is_refused(
    project: Path, mlv: MlvRunner, twins: tuple[str, str]
) -> None:
    write(project / "m.pkl", "model")
    mlv("track", "m.pkl")
    mlv("snapshot")

    def twin(doc: dict[str, Any]) -> None:
        record = doc["artifacts"].pop("m.pkl")
        doc["artifacts"].update({twins[0]: record, twins[1]: record})

    edit_lock(project, twin)
    before = tree_snapshot(project)
    for args in (["checkout", "--force"], ["status"], ["show"]):
        refused(mlv(*args), "case-insensitive")
    assert tree_snapshot(project) == before


@pytest.mark.usefixtures("case_sensitive")
@pytest.mark.parametrize("twins", CASE_TWINS)
def test_snapshot_of_a_directory_with_twins_is_refused(
    project: Path, mlv: MlvRunner, twins: tuple[str, str]
) -> None:
    tracked_dir(project, mlv)
    write(project / "data" / twins[0], "first\n")
    write(project / "data" / twins[1], "second\n")
    lock_before, objects_before = (project / "mlv.lock").read_bytes(), objects(project)
    for args in (["snapshot"], ["status"]):
        result = mlv(*args)
        refused(result, "case-insensitive")
        assert "rename one of them" in result.err
    assert (project / "mlv.lock").read_bytes() == lock_before
    assert objects(project) == objects_before  # nothing hashed into the store


@pytest.mark.usefixtures("case_sensitive")
@pytest.mark.parametrize("twins", CASE_TWINS)
def test_twins_cannot_be_tracked_or_declared(
    project: Path, mlv: MlvRunner, twins: tuple[str, str]
) -> None:
    write(project / twins[0], "first\n")
    write(project / twins[1], "second\n")
    assert mlv("track", twins[0]).code == 0
    toml_before = (project / "mlv.toml").read_bytes()
    refused(mlv("track", twins[1]), "case-insensitive")
    assert (project / "mlv.toml").read_bytes() == toml_before
    toml = project / "mlv.toml"
    toml.write_text(toml.read_text() + f'[artifacts."{twins[1]}"]\nkind = "data"\n')
    for args in (["status"], ["snapshot"]):
        refused(mlv(*args), "case-insensitive")
    assert not (project / "mlv.lock").exists()


# -- 3. Size bombs --------------------------------------------------------------------------------


def sparse(path: Path, size: int) -> Path:
    """A file of ``size`` zero bytes that takes no disk space."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


def peak_memory(run: Callable[[], Result]) -> tuple[Result, int]:
    """The result of ``run`` and the most memory Python allocated meanwhile."""
    tracemalloc.start()
    try:
        result = run()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_huge_work_tree_lock_is_refused_unread(project: Path, mlv: MlvRunner) -> None:
    tracked_dir(project, mlv)
    sparse(project / "mlv.lock", manifest.MAX_LOCK_BYTES + 1)
    for args in (["status"], ["checkout"], ["show"], ["snapshot"], ["verify"]):
        result, peak = peak_memory(lambda: mlv(*args))  # noqa: B023
        refused(result, f"mlv.lock is {manifest.MAX_LOCK_BYTES + 1:,} bytes")
        assert peak < 64 * 1024 * 1024, (args, peak)
    assert (project / "mlv.lock").stat().st_size == manifest.MAX_LOCK_BYTES + 1


def test_a_huge_lock_in_git_history_is_refused_unread(
    project: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracked_dir(project, mlv)
    committed = (project / "mlv.lock").stat().st_size
    (project / "mlv.lock").write_text('{"schema": 1}\n')  # the work tree's is small
    # A manifest is kilobytes; pretend the limit is below that rather than commit 256 MiB.
    monkeypatch.setattr(manifest, "MAX_LOCK_BYTES", committed - 1)
    head = git(project, "rev-parse", "HEAD")[:10]
    for args in (["show", "HEAD"], ["checkout", "HEAD"], ["log"], ["verify"], ["gc", "--dry-run"]):
        refused(mlv(*args), f"mlv.lock at {head} is {committed:,} bytes")


def test_a_huge_object_named_as_a_tree_is_refused_unread(project: Path, mlv: MlvRunner) -> None:
    tracked_dir(project, mlv)
    forged = hash_bytes(b"anything: only the size is looked at")
    sparse(store_of(project).path_of(forged), MAX_IN_MEMORY + 1)
    point_artifact(project, "data", forged)
    before = tree_snapshot(project / "data")
    for args in (["checkout", "--force"], ["status"]):
        result, peak = peak_memory(lambda: mlv(*args))  # noqa: B023
        refused(result, f"{MAX_IN_MEMORY + 1:,} bytes")
        assert peak < 64 * 1024 * 1024, (args, peak)
    assert tree_snapshot(project / "data") == before
    verified = mlv("verify", "--json")  # re-hashing streams it: reported corrupt
    assert verified.code == 1 and json.loads(verified.out)["corrupt"] == [str(forged)]


# -- 4. Objects of the wrong type, and self-reference ----------------------------------------------


def test_a_file_record_naming_a_tree_restores_its_bytes_or_is_refused(
    project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    """Ids name bytes, not types: with the true size the tree's bytes are a file like any other;
    with a size the object does not have, the record is forged and nothing is restored."""
    tracked_dir(project, mlv)
    write(project / "m.pkl", "model")
    mlv("track", "m.pkl")
    mlv("snapshot")
    tree_id = ObjectId.parse(
        json.loads((project / "mlv.lock").read_text())["artifacts"]["data"]["id"]
    )
    tree_bytes = store_of(project).read_bytes(tree_id)
    outside = sorted(p.name for p in tmp_path.iterdir())
    point_artifact(project, "m.pkl", tree_id, size=5)  # the size no longer matches the object
    refused(mlv("checkout", "--force"), "recorded as 5 bytes")
    assert (project / "m.pkl").read_text() == "model"
    point_artifact(project, "m.pkl", tree_id, size=len(tree_bytes))
    result = mlv("checkout", "--force")
    assert result.code == 0, result.err
    assert (project / "m.pkl").read_bytes() == tree_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == outside


@pytest.mark.parametrize(
    "content", [b"\x00\x01 a model's bytes", b'{"accuracy": 0.9}\n', b"[1, 2]", b""]
)
def test_a_dir_record_naming_a_file_is_refused(
    project: Path, mlv: MlvRunner, content: bytes
) -> None:
    tracked_dir(project, mlv)
    not_a_tree = store_of(project).add_bytes(content)
    point_artifact(project, "data", not_a_tree)
    before = tree_snapshot(project / "data")
    for args in (["checkout", "--force"], ["status"]):
        refused(mlv(*args), "malformed tree object")
    assert tree_snapshot(project / "data") == before
    verified = mlv("verify", "--json")  # it used to say all was well
    assert verified.code == 1 and json.loads(verified.out)["not_trees"] == [str(not_a_tree)]
    assert "not a tree object" in mlv("verify").out


def test_a_tree_entry_naming_another_tree_restores_its_bytes(project: Path, mlv: MlvRunner) -> None:
    """A tree names its children by content; one of them being a tree's bytes is just a file."""
    tracked_dir(project, mlv)
    store = store_of(project)
    inner = ObjectId.parse(
        json.loads((project / "mlv.lock").read_text())["artifacts"]["data"]["id"]
    )
    size = len(store.read_bytes(inner))
    wrong = store.add_bytes(encode_tree([("nested", inner, 1, False)], []))
    point_artifact(project, "data", wrong)
    before = tree_snapshot(project / "data")
    refused(mlv("checkout", "--force"), "recorded as 1 bytes")  # a forged size
    assert tree_snapshot(project / "data") == before  # refused before anything changed
    outer = store.add_bytes(
        encode_tree([("a.csv", inner, size, False), ("nested", inner, size, True)], [])
    )
    point_artifact(project, "data", outer)
    result = mlv("checkout", "--force")
    assert result.code == 0, result.err
    assert (project / "data/nested").read_bytes() == store.read_bytes(inner)
    assert sorted(p.name for p in (project / "data").iterdir()) == ["a.csv", "nested"]
    assert mlv("verify").code == 0  # the closure stops at one level: nothing to loop on


def test_a_forged_self_referencing_tree_is_reported_corrupt(project: Path, mlv: MlvRunner) -> None:
    """A tree cannot name itself (its id hashes its own bytes): a forged one is reported corrupt."""
    tracked_dir(project, mlv)
    store = store_of(project)
    self_id = hash_bytes(b"the id the forged tree claims")
    forged = encode_tree([("a.csv", self_id, 1, False), ("self", self_id, 1, False)], [])
    path = store.path_of(self_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(forged)
    point_artifact(project, "data", self_id)
    before = tree_snapshot(project / "data")
    for args in (["checkout", "--force"], ["status"], ["verify"]):
        result = mlv(*args)
        assert result.code == 1 and "corrupt" in result.err + result.out, (args, result)
        assert "Traceback" not in result.err
    assert tree_snapshot(project / "data") == before


@pytest.mark.parametrize("patch", [b"not a patch\n", b"", b"diff --git a/x b/x\n--- garbage"])
def test_a_code_patch_that_is_not_one_is_refused_by_reproduce(
    project: Path, mlv: MlvRunner, patch: bytes
) -> None:
    write(project / "make.py", "open('out.txt', 'w').write('1')\n")
    git(project, "add", "make.py")
    git(project, "commit", "-qm", "code")
    cmd = f"{shlex.quote(sys.executable)} make.py"
    assert mlv("stage", "add", "make", "-d", "make.py", "-o", "out.txt", "--", cmd).code == 0
    assert mlv("run").code == 0
    write(project / "make.py", "open('out.txt', 'w').write('1')  # dirty\n")
    assert mlv("snapshot", "-m", "dirty").code == 0
    forged = store_of(project).add_bytes(patch)
    edit_lock(project, lambda doc: doc["code"].update(patch=str(forged)))
    git(project, "commit", "-qam", "forged patch")
    before = tree_snapshot(project)
    refused(mlv("reproduce", "HEAD"), "patch does not apply")  # it was exit 3, "a bug"
    assert tree_snapshot(project) == before


# -- 5. Hostile remotes ----------------------------------------------------------------------------


def pushed_project(project: Path, mlv: MlvRunner, url: str) -> list[str]:
    """A snapshot of six data files pushed to ``url``; the ids of the data files."""
    for i in range(6):
        write(project / f"data/f{i}.bin", f"content {i}\n" * (i + 1))
    assert mlv("track", "data").code == 0
    assert mlv("remote", "add", "origin", url).code == 0
    assert mlv("snapshot", "-m", "data").code == 0
    assert mlv("push").code == 0
    return [str(hash_bytes((project / f"data/f{i}.bin").read_bytes())) for i in range(6)]


def remote_path(remote: Path, oid: str) -> Path:
    digest = oid.partition(":")[2]
    return remote / "xxh128" / digest[:2] / digest[2:]


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory outside repository and remote, with a file no command may read or change."""
    out = tmp_path / "outside"
    write(out / "secret.txt", "the secret outside\n")
    (out / "empty-dir").mkdir()
    return out


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
    assert not any(
        oid.partition(":")[2][:2] + "/" + oid.partition(":")[2][2:] in fetched for oid in ids[:4]
    )
    assert not store_of(other).exists(hash_bytes(b"the secret outside\n"))
    monkeypatch.chdir(project)
    verified = mlv("verify", "--remote", "origin", "--json")
    assert verified.code == 1
    assert set(json.loads(verified.out)["remote_missing"]) == set(ids[:4])

    # push replaces each odd entry by the real object: the entry itself, never what it points to.
    result = mlv("push", "--json")
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


# -- 6. Malformed manifests and ids, through the CLI -----------------------------------------------


@pytest.mark.parametrize(
    "data", [data for data, _ in MALFORMED], ids=[f"lock{i}" for i in range(len(MALFORMED))]
)
def test_every_malformed_lock_is_exit_2_with_a_hint(
    project: Path, mlv: MlvRunner, data: bytes
) -> None:
    tracked_dir(project, mlv)
    (project / "mlv.lock").write_bytes(data)
    before = tree_snapshot(project / "data")
    for args in (["status"], ["checkout", "--force"], ["show"], ["push"], ["verify"]):
        refused(mlv(*args), "mlv.lock")
    assert tree_snapshot(project / "data") == before


@pytest.mark.parametrize(
    "tree",
    [
        b"[]",
        b'{"format": 1, "entries": [["a.csv", 5, 2, false]]}',
        b'{"format": 1, "entries": [["a.csv", "sha256:' + b"ab" * 32 + b'", 2, false]]}',
        b'{"format": 1, "entries": [["a.csv", "xxh128:' + b"AB" * 16 + b'", 2, false]]}',
        b'{"format": 1, "entries": [["a.csv", "xxh128:' + b"ab" * 16 + b'", 1e999, false]]}',
        b'{"format": 1, "entries": [["a.csv", "xxh128:' + b"ab" * 16 + b'", -2, false]]}',
        b'{"format": 1, "entries": [["a.csv", "xxh128:' + b"ab" * 16 + b'", NaN, false]]}',
        b'{"format": 2, "entries": []}',
        b'{"format": 1, "entries": [["\xff", "xxh128:' + b"ab" * 16 + b'", 1, false]]}',
        b'{"format": 1, "entries": [], "empty_dirs": ' + b"[" * 10**5 + b"]" * 10**5 + b"}",
    ],
)
def test_every_malformed_tree_is_exit_2_with_a_hint(
    project: Path, mlv: MlvRunner, tree: bytes
) -> None:
    tracked_dir(project, mlv)
    point_artifact(project, "data", store_of(project).add_bytes(tree))
    before = tree_snapshot(project / "data")
    for args in (["checkout", "--force"], ["status"]):
        refused(mlv(*args), "tree object")
    assert tree_snapshot(project / "data") == before


# -- 7. A tracked path that is a symbolic link to outside ------------------------------------------


class OutsideReads:
    """Records every file or directory mlv opens or lists below ``root`` (links resolved)."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = os.path.realpath(root)
        self.seen: list[str] = []
        for module, name in ((builtins, "open"), (os, "open"), (os, "scandir"), (os, "listdir")):
            monkeypatch.setattr(module, name, self._wrap(getattr(module, name)))

    def _wrap(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(path: Any = ".", *args: Any, **kwargs: Any) -> Any:
            if isinstance(path, str | bytes | os.PathLike):
                target = os.path.realpath(os.fsdecode(path))
                if target == self.root or target.startswith(self.root + os.sep):
                    self.seen.append(target)
            return real(path, *args, **kwargs)

        return recorded


@pytest.mark.parametrize("target", ["dir", "file", "etc"])
def test_a_tracked_path_linking_outside_is_refused_and_never_read(
    project: Path,
    mlv: MlvRunner,
    outside: Path,
    monkeypatch: pytest.MonkeyPatch,
    target: str,
) -> None:
    link = {"dir": outside, "file": outside / "secret.txt", "etc": Path("/etc")}[target]
    (project / "data").symlink_to(link)
    reads = OutsideReads(link, monkeypatch)
    for spelling in ("data", "data/", "./data", f"{project}/data", "data/secret.txt"):
        refused(mlv("track", spelling), "symbolic link")
    assert "data" not in (project / "mlv.toml").read_text()
    assert reads.seen == []


@pytest.mark.parametrize("kind", ["dir", "file"])
def test_a_tracked_path_replaced_by_a_link_is_refused_and_never_read(
    project: Path,
    mlv: MlvRunner,
    outside: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    if kind == "dir":
        tracked_dir(project, mlv)
        shutil.rmtree(project / "data")
        (project / "data").symlink_to(outside)
    else:
        write(project / "data", "mine\n")
        assert mlv("track", "data").code == 0 and mlv("snapshot").code == 0
        (project / "data").unlink()
        (project / "data").symlink_to(outside / "secret.txt")
    lock_before, objects_before = (project / "mlv.lock").read_bytes(), objects(project)
    outside_before = tree_snapshot(outside)
    reads = OutsideReads(outside, monkeypatch)
    for args in (["snapshot"], ["status"]):
        refused(mlv(*args), "data is a symbolic link")
    refused_checkout = mlv("checkout")  # the link holds nothing saved: only --force replaces it
    assert refused_checkout.code == 1 and "data (a symbolic link)" in refused_checkout.err
    assert reads.seen == []
    assert (project / "mlv.lock").read_bytes() == lock_before
    assert objects(project) == objects_before
    assert mlv("checkout", "--force").code == 0  # the link goes, never what it points to
    assert not (project / "data").is_symlink()
    assert reads.seen == []
    assert tree_snapshot(outside) == outside_before  # (this walk is the test's own)


def test_a_link_inside_a_tracked_directory_is_refused_and_never_read(
    project: Path, mlv: MlvRunner, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracked_dir(project, mlv)
    (project / "data/sub").mkdir()
    (project / "data/sub/escape").symlink_to(outside)
    (project / "data/passwd").symlink_to(outside / "secret.txt")
    lock_before = (project / "mlv.lock").read_bytes()
    reads = OutsideReads(outside, monkeypatch)
    for args in (["snapshot"], ["status"]):
        refused(mlv(*args), "is a symbolic link")
    assert reads.seen == [] and (project / "mlv.lock").read_bytes() == lock_before
