"""Hostile paths (issue #7): .git components, case and Unicode twins, symbolic links to outside.

A forged mlv.lock or tree object, or odd names on disk, through the real CLI: exit 2 with an
error and a hint, and nothing written (or read) where it must not be.
"""

from __future__ import annotations

import builtins
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlv.model.tree import encode_tree
from tests.conftest import MlvRunner, tree_snapshot, write
from tests.hostile import edit_lock, objects, point_artifact, refused, store_of, tracked_dir

# Spellings of ".git" that some file system (NTFS, HFS+, any case-insensitive one) opens as the
# repository's own directory.
GIT_NAMES = [".git", ".GIT", "git~1", ".git.", ".git ", ".g\u200cit", "\ufeff.Git"]


# -- .git anywhere ---------------------------------------------------------------------------------


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
        refused(result, "data/vendored/.git")  # the directory itself, before its files
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


# -- Case and Unicode twins ------------------------------------------------------------------------

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


# -- A tracked path that is a symbolic link to outside ---------------------------------------------


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
