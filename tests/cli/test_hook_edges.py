"""Hooks run as git runs them (`mlv hooks run NAME`), at their edges: pre-push with nothing to
upload, no mlv remote, objects missing; the pre-commit framework's lock-valid check."""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import MlvRunner, Result, git, write
from tests.crash import store_objects

ZERO = "0" * 40


@pytest.fixture
def snapshotted(project: Path, mlv: MlvRunner) -> Path:
    write(project / "data/a.csv", "1\n")
    assert mlv("track", "data").code == 0
    assert mlv("snapshot", "-m", "data").code == 0
    return project


def pre_push(mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch, *lines: str) -> Result:
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(f"{line}\n" for line in lines)))
    return mlv("hooks", "run", "pre-push", "origin", "/somewhere/origin.git")


def new_branch_line(root: Path) -> str:
    return f"refs/heads/main {git(root, 'rev-parse', 'HEAD')} refs/heads/main {ZERO}"


def test_pre_push_of_a_deletion_or_a_garbled_line_uploads_nothing(
    snapshotted: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert mlv("remote", "add", "--default", "store", str(tmp_path / "remote")).code == 0
    result = pre_push(mlv, monkeypatch, f"(delete) {ZERO} refs/heads/old {ZERO[:-1]}1", "garbled")
    assert (result.code, result.err) == (0, "")
    assert not (tmp_path / "remote" / "xxh128").exists()


def test_pre_push_without_an_mlv_remote_warns_and_lets_git_push(
    snapshotted: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = pre_push(mlv, monkeypatch, new_branch_line(snapshotted))
    assert result.code == 0
    assert result.err.startswith("mlv: warning: no mlv remote is configured")


def test_pre_push_uploads_once_then_has_nothing_to_say(
    snapshotted: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert mlv("remote", "add", "--default", "store", str(tmp_path / "remote")).code == 0
    git(snapshotted, "commit", "-qam", "remote added")
    first = pre_push(mlv, monkeypatch, new_branch_line(snapshotted))
    uploaded = len(store_objects(tmp_path / "remote"))
    assert uploaded >= 3  # the data, its tree, the environment record's lockfiles, summaries
    assert first.code == 0 and f"uploaded {uploaded} object(s) to mlv remote store" in first.err
    again = pre_push(mlv, monkeypatch, new_branch_line(snapshotted))
    assert (again.code, again.err) == (0, "")


def test_pre_push_refuses_when_the_local_store_lacks_what_the_commits_need(
    snapshotted: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert mlv("remote", "add", "--default", "store", str(tmp_path / "remote")).code == 0
    shutil.rmtree(snapshotted / ".mlv/cache/packs")  # every object of the snapshot
    result = pre_push(mlv, monkeypatch, new_branch_line(snapshotted))
    assert result.code == 1
    lines = result.err.splitlines()
    assert lines[0].startswith("error: push refused by mlv: ")
    assert "object(s) the pushed commits need are not in the local store" in lines[0]
    assert lines[-1].startswith("hint: fetch them (`mlv fetch`), then push again; to push anyway")


def test_lock_valid_passes_a_good_lock_and_refuses_a_malformed_one(
    snapshotted: Path, mlv: MlvRunner
) -> None:
    assert mlv("hooks", "run", "lock-valid") == Result(0, "", "")
    (snapshotted / "mlv.lock").write_text("{ not json")
    result = mlv("hooks", "run", "lock-valid")
    assert result.code == 1
    assert result.err.startswith("error: commit refused by mlv: ")
    assert "mlv.lock is malformed" in result.err and "hint:" in result.err
    assert (snapshotted / "mlv.lock").read_text() == "{ not json"


def test_lock_valid_outside_an_mlv_project_says_nothing(repo: Path, mlv: MlvRunner) -> None:
    assert mlv("hooks", "run", "lock-valid") == Result(0, "", "")
