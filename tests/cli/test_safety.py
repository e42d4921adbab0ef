"""Checkout never loses unsaved work; hostile manifests never write outside the repository."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from mlv.model.tree import Tree, TreeEntry
from mlv.storage.hashing import hash_bytes
from mlv.storage.store import ObjectStore
from tests.conftest import MlvRunner, git, tree_snapshot, write
from tests.stored import damage_packed, delete_object


def test_checkout_refuses_to_clobber_unsaved_edits(project: Path, mlv: MlvRunner) -> None:
    write(project / "data/raw/a.csv", "v1\n")
    write(project / "data/raw/b.csv", "b\n")
    mlv("track", "data/raw")
    mlv("snapshot", "-m", "v1")
    write(project / "data/raw/a.csv", "v2\n")
    mlv("snapshot", "-m", "v2")

    write(project / "data/raw/a.csv", "unsaved edit\n")
    write(project / "data/raw/c.csv", "unsaved new file\n")
    before = tree_snapshot(project / "data")
    result = mlv("checkout", "HEAD~1")
    assert result.code == 1
    assert result.err.startswith("error: refusing to overwrite or delete unsaved work")
    assert "data/raw/a.csv" in result.err and "data/raw/c.csv" in result.err
    assert "hint:" in result.err
    assert tree_snapshot(project / "data") == before  # nothing changed

    forced = mlv("checkout", "HEAD~1", "--force")
    assert forced.code == 0
    assert (project / "data/raw/a.csv").read_text() == "v1\n"
    assert not (project / "data/raw/c.csv").exists()


def test_saved_content_may_be_replaced_without_force(project: Path, mlv: MlvRunner) -> None:
    write(project / "m.pkl", "v1")
    mlv("track", "m.pkl")
    mlv("snapshot", "-m", "v1")
    write(project / "m.pkl", "v2")
    mlv("snapshot", "-m", "v2")
    assert mlv("checkout", "HEAD~1").code == 0  # v2 is in the store: nothing is lost
    assert (project / "m.pkl").read_text() == "v1"


def _replace_lock(project: Path, mutate: object) -> None:
    doc = json.loads((project / "mlv.lock").read_text())
    mutate(doc)  # type: ignore[operator]
    (project / "mlv.lock").write_text(json.dumps(doc))


def test_lock_with_escaping_path_is_refused(project: Path, mlv: MlvRunner, tmp_path: Path) -> None:
    write(project / "d.csv", "1")
    mlv("track", "d.csv")
    mlv("snapshot")

    def escape(doc: dict) -> None:  # type: ignore[type-arg]
        doc["artifacts"]["../outside.csv"] = doc["artifacts"].pop("d.csv")

    _replace_lock(project, escape)
    outside_before = sorted(p.name for p in tmp_path.iterdir())
    for args in (["checkout"], ["status"], ["show"], ["snapshot"]):
        result = mlv(*args)
        assert result.code == 2, (args, result.err)
        assert "mlv.lock is malformed" in result.err and "Traceback" not in result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == outside_before


def test_tree_object_with_escaping_entry_is_refused(
    project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    write(project / "data/a.csv", "1")
    mlv("track", "data")
    mlv("snapshot")
    store = ObjectStore(project / ".mlv/cache")
    payload = store.add_bytes(b"evil")
    evil = Tree((TreeEntry("../../escaped.txt", payload, 4, False),))
    evil_id = store.add_bytes(evil.encode())
    store.sync_written()

    def point(doc: dict) -> None:  # type: ignore[type-arg]
        doc["artifacts"]["data"]["id"] = str(evil_id)

    _replace_lock(project, point)
    result = mlv("checkout", "--force")
    assert result.code == 2
    assert "tree entry" in result.err
    assert not (tmp_path / "escaped.txt").exists() and not (project.parent / "escaped.txt").exists()


def test_malformed_and_future_locks(project: Path, mlv: MlvRunner) -> None:
    (project / "mlv.lock").write_text("{ this is not json")
    result = mlv("status")
    assert result.code == 2 and "mlv.lock is malformed" in result.err and "hint:" in result.err
    (project / "mlv.lock").write_text('{"schema": 99}')
    result = mlv("checkout")
    assert result.code == 2 and "schema version 99" in result.err and "upgrade mlv" in result.err


def test_corrupt_object_is_never_restored(project: Path, mlv: MlvRunner) -> None:
    write(project / "m.bin", b"precious model")
    mlv("track", "m.bin")
    mlv("snapshot")
    (project / "m.bin").unlink()
    damage_packed(project / ".mlv/cache", hash_bytes(b"precious model"), "one byte flipped")
    result = mlv("checkout")
    assert result.code == 1 and "corrupt" in result.err
    assert not (project / "m.bin").exists()
    assert list((project / ".mlv/tmp").iterdir()) == []


def test_missing_object_names_it_and_says_pull(project: Path, mlv: MlvRunner) -> None:
    write(project / "m.bin", b"model")
    mlv("track", "m.bin")
    mlv("snapshot")
    delete_object(project / ".mlv/cache", hash_bytes(b"model"))
    (project / "m.bin").unlink()
    result = mlv("checkout")
    assert result.code == 1
    assert str(hash_bytes(b"model")) in result.err and "mlv pull" in result.err


def test_fresh_clone_with_shared_cache(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: object
) -> None:
    shared = tmp_path / "shared-cache"
    assert mlv("init", "--cache-dir", str(shared)).code == 0
    write(project / "data/raw/a.csv", "a\n")
    write(project / "models/m.pkl", b"model")
    mlv("track", "data/raw", "models/m.pkl")
    assert mlv("snapshot", "-m", "with shared cache").code == 0
    assert any(shared.rglob("*")) and not (project / ".mlv/cache").exists()

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(project), str(clone))
    monkeypatch.chdir(clone)  # type: ignore[attr-defined]
    assert not (clone / "data").exists()
    assert mlv("init", "--cache-dir", str(shared)).code == 0
    result = mlv("checkout")
    assert result.code == 0, result.err
    assert (clone / "data/raw/a.csv").read_text() == "a\n"
    assert (clone / "models/m.pkl").read_bytes() == b"model"
    assert mlv("status", "--check").code == 0
    assert "data/raw" not in git(clone, "status", "--porcelain")


def test_clone_without_objects_says_what_is_missing(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: object
) -> None:
    write(project / "d/a.csv", "a\n")
    mlv("track", "d")
    mlv("snapshot")
    clone = tmp_path / "clone2"
    git(tmp_path, "clone", "-q", str(project), str(clone))
    monkeypatch.chdir(clone)  # type: ignore[attr-defined]
    result = mlv("checkout")
    assert result.code == 1 and "missing from the store" in result.err
    status = mlv("status", "--json")
    assert status.code == 0
    assert json.loads(status.out)["artifacts"][0]["state"] == "deleted"


def test_checkout_never_writes_through_a_symlinked_directory(
    project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    write(project / "data/in.txt", "payload")
    mlv("track", "data/in.txt")
    mlv("snapshot")
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / "evil").symlink_to(outside)
    git(project, "add", "evil")
    git(project, "commit", "-qm", "a symlink in git")

    def smuggle(doc: dict) -> None:  # type: ignore[type-arg]
        doc["artifacts"]["evil/pwned.txt"] = doc["artifacts"]["data/in.txt"]

    _replace_lock(project, smuggle)
    for args in (["checkout"], ["checkout", "--force"], ["checkout", "--", "evil/pwned.txt"]):
        result = mlv(*args)
        assert result.code == 2, (args, result.err)
        assert "symbolic link" in result.err
    assert list(outside.iterdir()) == []
    # Declaring it does not help: reading through the link is refused too.
    text = (project / "mlv.toml").read_text() + '[artifacts."evil/pwned.txt"]\nkind = "data"\n'
    (project / "mlv.toml").write_text(text)
    for args in (["status"], ["snapshot"]):
        result = mlv(*args)
        assert result.code == 2 and "symbolic link" in result.err, (args, result.err)
    assert list(outside.iterdir()) == []


def test_track_refuses_paths_through_symlinks_and_control_chars(
    project: Path, mlv: MlvRunner
) -> None:
    write(project / "src/c.py", "x")
    (project / "lnk").symlink_to(project / "src")
    result = mlv("track", "lnk/c.py")
    assert result.code == 2 and "symbolic link lnk" in result.err
    write(project / "new\nline", "x")
    result = mlv("track", "new\nline")
    assert result.code == 2 and "control characters" in result.err
    assert (
        "line" not in (project / ".gitignore").read_text()
        if (project / ".gitignore").exists()
        else True
    )


def test_parent_replaced_by_a_file_is_handled(project: Path, mlv: MlvRunner) -> None:
    write(project / "data/raw/a.txt", "a")
    mlv("track", "data/raw")
    mlv("snapshot")
    shutil.rmtree(project / "data")
    write(project / "data", "a file where the parent directory was")
    status = mlv("status", "--json")
    assert status.code == 0 and json.loads(status.out)["artifacts"][0]["state"] == "deleted"
    refused = mlv("checkout")
    assert refused.code == 1 and "data" in refused.err  # the file's content is not saved
    assert mlv("checkout", "--force").code == 0
    assert (project / "data/raw/a.txt").read_text() == "a"


def test_checkout_of_repeated_and_nested_paths(project: Path, mlv: MlvRunner) -> None:
    write(project / "data/raw/sub/a.txt", "a")
    write(project / "data/raw/b.txt", "b")
    mlv("track", "data/raw")
    mlv("snapshot")
    write(project / "data/raw/b.txt", "B")
    mlv("snapshot")
    result = mlv("checkout", "HEAD~1", "--", "data/raw", "data/raw", "data/raw/sub")
    assert result.code == 0, result.err
    assert (project / "data/raw/b.txt").read_text() == "b"
    assert mlv("checkout", "HEAD", "--", "data").code == 0  # a directory holding artifacts
    assert (project / "data/raw/b.txt").read_text() == "B"


def test_double_dash_makes_a_branch_name_a_path(project: Path, mlv: MlvRunner) -> None:
    write(project / "model.pkl", "v1")
    write(project / "other.csv", "o1")
    mlv("track", "model.pkl", "other.csv")
    mlv("snapshot")
    git(project, "branch", "model.pkl")  # a branch named like the file
    write(project / "model.pkl", "v2")
    write(project / "other.csv", "o2")
    mlv("snapshot")
    write(project / "model.pkl", "v3")
    write(project / "other.csv", "o3")
    mlv("snapshot", "--no-commit")
    assert mlv("checkout", "--", "model.pkl").code == 0
    assert (project / "other.csv").read_text() == "o3"  # not restored from branch model.pkl


def test_symlink_in_place_of_a_tracked_file_goes_only_with_force(
    project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    write(project / "m.pkl", "model")
    mlv("track", "m.pkl")
    mlv("snapshot")
    target = tmp_path / "elsewhere.txt"
    target.write_text("not ours")
    (project / "m.pkl").unlink()
    (project / "m.pkl").symlink_to(target)
    refused = mlv("checkout")
    assert refused.code == 1 and "m.pkl (a symbolic link)" in refused.err
    assert mlv("checkout", "--force").code == 0
    assert not (project / "m.pkl").is_symlink() and (project / "m.pkl").read_text() == "model"
    assert target.read_text() == "not ours"  # what the link pointed to is untouched
