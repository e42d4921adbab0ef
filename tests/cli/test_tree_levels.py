"""Format 2 trees (one object per directory level) through the commands that read trees.

A snapshot writes format 2; where a test needs format 1 beside it, the same listing is stored
flat by hand (``to_format_1``), as an older mlv wrote it, and mlv.lock pointed at it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlv import api
from mlv.core.objects.trees import load_tree, tree_ids
from mlv.model.ids import ObjectId
from mlv.model.tree import decode_node, encode_tree, tree_format
from tests.conftest import MlvRunner, git, tree_snapshot, write
from tests.hostile import point_artifact, store_of
from tests.stored import damage_packed, delete_object


def to_format_1(project: Path) -> ObjectId:
    """Rewrite the ``data`` artifact of mlv.lock as a flat format 1 tree of the same content
    (as an older mlv wrote it), committed; its id."""
    store = store_of(project)
    levels_id = ObjectId.parse(
        json.loads((project / "mlv.lock").read_text())["artifacts"]["data"]["id"]
    )
    assert tree_format(store.read_bytes(levels_id)) == 2  # what a snapshot writes now
    flat = load_tree(store.read_bytes, levels_id)
    entries = [(e.path, e.id, e.size, e.executable) for e in flat.entries]
    flat_id = store.add_bytes(encode_tree(entries, flat.empty_dirs))
    point_artifact(project, "data", flat_id)
    git(project, "commit", "-qam", "format 1")
    return flat_id


def make_data(project: Path, mlv: MlvRunner, tag: str = "v1") -> None:
    for d in range(3):
        for f in range(4):
            write(project / f"data/d{d}/sub/f{f}.txt", f"{tag} {d} {f}\n")
    write(project / "data/top.txt", f"{tag} top\n")
    (project / "data/empty/deeper").mkdir(parents=True, exist_ok=True)
    assert mlv("track", "data").code == 0
    assert mlv("snapshot", "-m", tag).code == 0


@pytest.fixture
def levels(project: Path, mlv: MlvRunner) -> ObjectId:
    make_data(project, mlv)
    top = ObjectId.parse(json.loads((project / "mlv.lock").read_text())["artifacts"]["data"]["id"])
    assert tree_format(store_of(project).read_bytes(top)) == 2
    return top


def level_ids(project: Path, top: ObjectId) -> list[ObjectId]:
    return list(tree_ids(store_of(project).read_bytes, top))


def test_checkout_of_the_whole_tree_and_of_a_sub_path(
    project: Path, mlv: MlvRunner, levels: ObjectId
) -> None:
    assert tree_format(store_of(project).read_bytes(levels)) == 2
    before = tree_snapshot(project / "data")
    shutil.rmtree(project / "data")
    result = mlv("checkout")
    assert result.code == 0, result.err
    assert tree_snapshot(project / "data") == before  # the empty directories too
    shutil.rmtree(project / "data/d1")
    (project / "data/d2/sub/f0.txt").write_text("changed\n")
    assert mlv("checkout", "data/d1/sub").code == 0
    assert (project / "data/d1/sub/f3.txt").read_text() == "v1 1 3\n"
    assert (project / "data/d2/sub/f0.txt").read_text() == "changed\n"  # outside the scope
    assert mlv("checkout", "--force", "data/d2/sub/f0.txt").code == 0
    assert tree_snapshot(project / "data") == before
    assert mlv("checkout", "data/nope").code == 2


def test_a_sub_path_checkout_reads_only_its_branch(
    project: Path, mlv: MlvRunner, levels: ObjectId
) -> None:
    top = decode_node(store_of(project).read_bytes(levels))
    d0 = next(d for d in top.dirs if d.name == "d0")
    delete_object(project / ".mlv/cache", str(d0.id))
    shutil.rmtree(project / "data/d1")
    assert mlv("checkout", "data/d1").code == 0
    assert (project / "data/d1/sub/f0.txt").read_text() == "v1 1 0\n"


def test_push_then_pull_into_a_fresh_clone(
    project: Path, mlv: MlvRunner, levels: ObjectId, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = tmp_path / "remote"
    assert mlv("remote", "add", "origin", str(remote), "--default").code == 0
    git(project, "commit", "-qam", "remote")
    pushed = mlv("push", "--json")
    assert pushed.code == 0, pushed.err
    before = tree_snapshot(project / "data")
    fresh = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", str(project), str(fresh))
    monkeypatch.chdir(fresh)
    pulled = mlv("pull")
    assert pulled.code == 0, pulled.err
    assert tree_snapshot(fresh / "data") == before
    # Every level arrived (fetched one depth at a time: a level's children are named inside it).
    ids = level_ids(fresh, levels)
    assert len(ids) == 1 + 3 * 2 + 2  # top, d*/ and d*/sub, empty/ and empty/deeper
    assert not store_of(fresh).missing(set(ids))
    assert mlv("verify").code == 0
    # A second push finds everything there.
    monkeypatch.chdir(project)
    again = json.loads(mlv("push", "--json").out)
    assert again["transferred"] == 0


def test_gc_keeps_every_level_and_verify_names_a_damaged_one(
    project: Path, mlv: MlvRunner, levels: ObjectId
) -> None:
    flat_id = to_format_1(project)
    git(project, "reset", "-q", "--hard", "HEAD~1")  # the flat tree is named by no lock now
    assert mlv("gc", "--workspace", "--force").code == 0
    store = store_of(project)
    assert not store.missing(set(level_ids(project, levels)))
    assert not store.exists(ObjectId.parse(flat_id))  # only the work tree's lock is kept
    shutil.rmtree(project / "data")
    assert mlv("checkout").code == 0
    assert mlv("verify").code == 0
    sub = level_ids(project, levels)[-1]
    damage_packed(project / ".mlv/cache", str(sub), "one byte flipped")
    doc = json.loads(mlv("verify", "--json").out)
    assert str(sub) in doc["corrupt"]
    delete_object(project / ".mlv/cache", str(sub))
    result = mlv("verify", "--json")
    assert result.code == 1 and str(sub) in json.loads(result.out)["missing"]
    gc = mlv("gc", "--workspace", "--force")
    assert gc.code == 1 and "removed nothing" in gc.err


def test_diff_of_format_2_trees_and_across_formats(project: Path, mlv: MlvRunner) -> None:
    make_data(project, mlv)
    to_format_1(project)  # HEAD~1 in levels, HEAD the same content flat
    same = json.loads(mlv("diff", "--json", "--files", "HEAD~1", "HEAD").out)
    assert same["artifacts"] == []
    (project / "data/d1/sub/f2.txt").write_text("v2\n")
    write(project / "data/d2/new.txt", "new\n")
    (project / "data/top.txt").unlink()
    assert mlv("snapshot", "-m", "v2").code == 0
    to_format_1(project)  # history: v1 levels, v1 flat, v2 levels, v2 flat
    for old, new in (("HEAD~3", "HEAD~1"), ("HEAD~2", "HEAD~1"), ("HEAD~3", "HEAD")):
        # format 2 against format 2, format 1 against 2, and 2 against 1
        doc = json.loads(mlv("diff", "--json", "--files", old, new).out)
        [artifact] = doc["artifacts"]
        assert artifact["files"]["paths"] == {
            "added": ["d2/new.txt"],
            "removed": ["top.txt"],
            "modified": ["d1/sub/f2.txt"],
        }


def test_api_reads_a_file_inside_a_format_2_tree(
    project: Path, mlv: MlvRunner, levels: ObjectId
) -> None:
    assert api.read_text("data/d2/sub/f1.txt", rev="HEAD") == "v1 2 1\n"
    assert api.read_text("data/top.txt") == "v1 top\n"
    with pytest.raises(Exception, match="not a tracked file"):
        api.read_text("data/d2/sub", rev="HEAD")


class Recorder:
    """A Progress that remembers what it was told."""

    def __init__(self) -> None:
        self.phases: list[tuple[str, int]] = []

    def start(self, description: str, total: int | None, unit: str = "files") -> None:
        self.phases.append((description, 0))

    def advance(self, amount: int = 1) -> None:
        description, count = self.phases[-1]
        self.phases[-1] = (description, count + amount)

    def finish(self) -> None:
        pass


def test_gc_reports_its_phases_with_counts(project: Path, levels: ObjectId) -> None:
    from mlv.core.project import open_project
    from mlv.core.store.gc import gc

    recorder = Recorder()
    opened = open_project(project)
    try:
        gc(opened, progress=recorder)
    finally:
        opened.close()
    phases = dict(recorder.phases)
    # Every level of the format 2 tree was read, once.
    assert phases["reading manifests and trees"] == len(level_ids(project, levels))
    assert phases["listing the store"] == len(store_of(project).packs.entries())
