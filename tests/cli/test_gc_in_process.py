"""gc's decisions driven in-process through its core function, so a mutation tester sees them too.

The terminal prompt and the shared-store cases are also tested end to end through a real
terminal and real subprocesses (tests/cli/test_gc.py, tests/test_concurrency.py); those runs are
invisible to a mutation tester, which only sees code run in the test's own process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlv.core.objects.kept import HISTORY, Scope
from mlv.core.project import open_project
from mlv.core.store.gc import Unbacked, gc
from mlv.storage.hashing import hash_bytes
from tests.cli.test_gc import forget_reflogs, size_of, stored, tracked, version
from tests.conftest import MlvRunner, git, make_repo, write
from tests.crash import store_objects

WORKSPACE = Scope(workspace=True)


def two_versions(project: Path, mlv: MlvRunner) -> tuple[set[str], set[str]]:
    tracked(project, mlv)
    return version(project, mlv, "one\n"), version(project, mlv, "two\n")


def test_the_question_names_count_and_size_and_no_keeps_everything(
    project: Path, mlv: MlvRunner
) -> None:
    one, _ = two_versions(project, mlv)
    asked: list[Unbacked] = []
    before = stored(project)
    result = gc(open_project(project), WORKSPACE, confirm=lambda u: asked.append(u) or False)
    assert asked == [Unbacked(2, size_of(project, one), {})]
    assert stored(project) == before
    assert (result.removed_objects, result.unbacked_objects) == (0, 2)
    assert result.unbacked_bytes == size_of(project, one) and not result.unbacked_removed


def test_yes_removes_the_unbacked_history(project: Path, mlv: MlvRunner) -> None:
    one, two = two_versions(project, mlv)
    size = size_of(project, one)
    result = gc(open_project(project), WORKSPACE, confirm=lambda u: True)
    assert result.removed_objects == 2 and result.unbacked_removed
    assert result.removed_bytes == size
    assert not one & stored(project) and two <= stored(project)


def test_nothing_is_asked_on_a_dry_run_nor_when_nothing_is_unbacked(
    project: Path, mlv: MlvRunner
) -> None:
    one, _ = two_versions(project, mlv)

    def never(u: Unbacked) -> bool:
        raise AssertionError(f"asked: {u}")

    before = stored(project)
    dry = gc(open_project(project), WORKSPACE, dry_run=True, confirm=never)
    assert dry.dry_run and dry.removed_objects == 0 and stored(project) == before
    forced_dry = gc(open_project(project), WORKSPACE, dry_run=True, force=True, confirm=never)
    assert forced_dry.removed_objects == 2 and stored(project) == before
    assert gc(open_project(project), confirm=never).removed_objects == 0  # default scope
    assert gc(open_project(project), HISTORY, force=True, confirm=never).removed_objects == 0
    assert one <= stored(project)


def test_unreachable_objects_go_without_a_question(project: Path, mlv: MlvRunner) -> None:
    tracked(project, mlv)
    version(project, mlv, "one\n")
    dropped = version(project, mlv, "dropped\n", commit=False)
    git(project, "checkout", "--", "mlv.lock")  # no revision, index or work tree names it now

    def never(u: Unbacked) -> bool:
        raise AssertionError(f"asked: {u}")

    result = gc(open_project(project), WORKSPACE, confirm=never)
    assert result.removed_objects == 2 and result.unbacked_objects == 0
    assert not dropped & stored(project)


def shared(tmp_path: Path) -> set[str]:
    return set(store_objects(tmp_path / "cache"))


def shared_store(
    tmp_path: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path]:
    """Work trees A and B of one store, made in-process."""
    cache = tmp_path / "cache"
    a = make_repo(tmp_path / "a")
    monkeypatch.chdir(a)
    assert mlv("init", "--cache-dir", str(cache)).code == 0
    write(a / "data/x.csv", "base\n")
    assert mlv("track", "data").code == 0
    assert mlv("snapshot", "-m", "base").code == 0
    b = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(a), str(b))
    write(b / ".mlv/config.local.toml", f'cache_dir = "{cache}"\n')
    monkeypatch.chdir(b)
    assert mlv("checkout").code == 0
    return a, b


def test_gc_in_one_work_tree_keeps_what_another_needs(
    tmp_path: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = shared_store(tmp_path, mlv, monkeypatch)
    git(b, "checkout", "-q", "-b", "side")
    write(b / "data/x.csv", "B's side branch\n")
    assert mlv("snapshot", "-m", "B side").code == 0
    git(b, "checkout", "-q", "-")
    assert mlv("checkout").code == 0
    write(b / "data/x.csv", "B's unsaved edit\n")
    assert mlv("snapshot", "--no-commit").code == 0  # B's work tree names it; no commit does
    side = str(hash_bytes(b"B's side branch\n"))
    edit = str(hash_bytes(b"B's unsaved edit\n"))
    assert {side, edit} <= shared(tmp_path)
    monkeypatch.chdir(a)
    result = gc(open_project(a), Scope(all_branches=True), force=True)
    assert result.other_worktrees == 1
    assert {side, edit} <= shared(tmp_path)  # B's branches and work tree, by B's own scope


def test_a_sharing_work_tree_with_a_broken_mlv_toml_stops_gc(
    tmp_path: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = shared_store(tmp_path, mlv, monkeypatch)
    (b / "mlv.toml").write_text("[artifacts\n")
    monkeypatch.chdir(a)
    write(a / "data/x.csv", "A moved on\n")
    assert mlv("snapshot", "-m", "A two").code == 0
    before = shared(tmp_path)
    result = mlv("gc", "--workspace", "--force")
    assert result.code == 1 and "mlv.toml" in result.err
    assert shared(tmp_path) == before


def test_what_several_remotes_hold_together_is_backed(project: Path, mlv: MlvRunner) -> None:
    """Each remote holds part of history: together they back all of it. A remote after the
    ones that already hold everything is not asked (so its being gone is no warning)."""
    tracked(project, mlv)
    for name in ("r1", "r2", "r3"):
        assert mlv("remote", "add", name, f"../{name}").code == 0
    one = version(project, mlv, "one\n")
    assert mlv("push", "-r", "r1").code == 0
    two = version(project, mlv, "two\n")
    assert mlv("push", "-r", "r2").code == 0
    version(project, mlv, "three\n")
    (project.parent / "elsewhere").mkdir()  # r3 can no longer be asked: mlv follows no link
    (project.parent / "r3" / "xxh128").symlink_to(project.parent / "elsewhere")

    def never(u: Unbacked) -> bool:
        raise AssertionError(f"asked: {u}")

    result = gc(open_project(project), WORKSPACE, confirm=never)
    assert result.unbacked_objects == 0 and result.unreachable_remotes == {}
    assert result.removed_objects == 4
    assert not (one | two) & stored(project)


def test_a_snapshot_a_merge_discarded_is_kept_by_all_commits(project: Path, mlv: MlvRunner) -> None:
    """A branch snapshotted, then merged with its mlv.lock discarded (`-s ours`) and deleted:
    only the merge's second parent reaches it, and history simplification would skip it."""
    tracked(project, mlv)
    version(project, mlv, "main\n")
    git(project, "checkout", "-q", "-b", "side")
    side = version(project, mlv, "side\n")
    git(project, "checkout", "-q", "-")
    assert mlv("checkout").code == 0
    git(project, "merge", "-q", "-s", "ours", "-m", "merge side, keep main's data", "side")
    git(project, "branch", "-q", "-D", "side")
    forget_reflogs(project)
    result = gc(open_project(project), Scope(all_commits=True), force=True)
    assert side <= stored(project), result


def test_a_remote_that_cannot_be_asked_does_not_hide_the_next_one(
    project: Path, mlv: MlvRunner
) -> None:
    tracked(project, mlv)
    for name in ("broken", "good"):
        assert mlv("remote", "add", name, f"../{name}").code == 0
    one = version(project, mlv, "one\n")
    assert mlv("push", "-r", "good").code == 0
    version(project, mlv, "two\n")
    (project.parent / "elsewhere").mkdir()
    (project.parent / "broken" / "xxh128").symlink_to(project.parent / "elsewhere")
    result = gc(open_project(project), WORKSPACE, confirm=lambda u: False)
    assert list(result.unreachable_remotes) == ["broken"]
    assert result.unbacked_objects == 0 and result.removed_objects == 2
    assert not one & stored(project)


def test_every_tree_an_unreadable_mlv_lock_names_is_expanded(project: Path, mlv: MlvRunner) -> None:
    """Ids salvaged from a manifest mlv cannot read are kept; each that is a tree keeps its
    files too, whichever ids (of plain files) come before it."""
    tracked(project, mlv)
    version(project, mlv, "one\n")
    broken = version(project, mlv, "two\n", commit=False)
    tree = next(i for i in broken if i != str(hash_bytes(b"two\n")))
    lock = project / "mlv.lock"
    files = sorted(stored(project) - broken)  # the tree alone lists "two"
    assert files[0] < tree  # a plain file's id is met first
    lock.write_text("<<<<<<< HEAD\n" + lock.read_text() + "\n".join(files) + "\n>>>>>>> x\n")
    git(project, "commit", "-q", "-am", "a conflict committed by mistake")
    git(project, "checkout", "HEAD~1", "--", "mlv.lock")
    git(project, "commit", "-q", "-m", "fixed")
    assert mlv("checkout").code == 0
    version(project, mlv, "three\n")
    assert gc(open_project(project)).removed_objects == 0
    assert broken <= stored(project)
