from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from mlv.model.ids import ObjectId
from mlv.storage.store import ObjectStore
from tests.conftest import MlvRunner, git, write


def test_snapshot_commits_lock_with_staged_and_managed_files(project: Path, mlv: MlvRunner) -> None:
    write(project / "data/a.csv", "1")
    write(project / "train.py", "print('train')\n")
    write(project / "notes.txt", "not staged, not committed\n")
    git(project, "add", "train.py")
    mlv("track", "data/a.csv")
    result = mlv("snapshot", "-m", "first run")
    assert result.code == 0, result.err
    committed = git(project, "show", "--name-only", "--format=%s", "HEAD").splitlines()
    assert committed[0] == "first run"
    assert set(committed[1:]) - {""} == {
        "mlv.lock",
        "mlv.toml",
        ".gitignore",
        ".mlv/.gitignore",
        "train.py",
    }
    assert "notes.txt" in result.err  # unknown to git: warned about
    assert git(project, "status", "--porcelain") == "?? notes.txt"

    again = mlv("snapshot", "-m", "nothing new")
    assert again.code == 0 and "no commit made" in again.out
    assert git(project, "log", "--format=%s", "-1") == "first run"


def test_no_commit_only_writes_the_lock(project: Path, mlv: MlvRunner) -> None:
    write(project / "data/a.csv", "1")
    mlv("track", "data/a.csv")
    head = git(project, "rev-parse", "HEAD")
    result = mlv("snapshot", "--no-commit", "--json")
    assert result.code == 0
    assert json.loads(result.out)["commit"] is None
    assert git(project, "rev-parse", "HEAD") == head
    assert (project / "mlv.lock").exists()


def test_dirty_code_is_recorded_as_an_applicable_patch(
    project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    write(project / "train.py", "version = 1\n")
    write(project / "data/a.csv", "1")
    git(project, "add", "train.py")
    git(project, "commit", "-qm", "code")
    mlv("track", "data/a.csv")
    mlv("snapshot", "-m", "clean")
    write(project / "train.py", "version = 2  # experiment, not committed\n")
    write(project / "data/a.csv", "2")
    result = mlv("snapshot", "-m", "dirty experiment", "--json")
    assert result.code == 0
    doc = json.loads(result.out)
    assert any("uncommitted changes" in w for w in doc["warnings"])
    lock = json.loads((project / "mlv.lock").read_text())
    code = lock["code"]
    assert code["dirty"] is True and code["commit"] == git(project, "rev-parse", "HEAD~1")
    patch = ObjectStore(project / ".mlv/cache").read_bytes(ObjectId.parse(code["patch"]))

    # The recorded commit plus the patch gives exactly the code that ran.
    other = tmp_path / "replay"
    git(project, "worktree", "add", "-q", "--detach", str(other), code["commit"])
    subprocess.run(["git", "apply", "--binary", "-"], input=patch, cwd=other, check=True)
    assert (other / "train.py").read_text() == "version = 2  # experiment, not committed\n"
    git(other, "add", "-A")
    git(other, "rm", "-q", "--cached", "mlv.lock")  # the code record leaves the manifest out
    assert git(other, "write-tree") == code["tree"]
    human = mlv("log")
    assert "uncommitted code" in human.out


def test_lockfiles_are_stored_as_objects(project: Path, mlv: MlvRunner) -> None:
    write(project / "requirements.txt", "scikit-learn==1.5\n")
    write(project / "uv.lock", "version = 1\n")
    write(project / "data/x", "1")
    mlv("track", "data/x")
    mlv("snapshot")
    env = json.loads((project / "mlv.lock").read_text())["environment"]
    assert set(env["lockfiles"]) == {"requirements.txt", "uv.lock"}
    store = ObjectStore(project / ".mlv/cache")
    assert store.read_bytes(ObjectId.parse(env["lockfiles"]["uv.lock"])) == b"version = 1\n"
    assert any(p.startswith("click==") for p in env["packages"])
    assert env["variables"] == {}


def test_allowed_variables_only(project: Path, mlv: MlvRunner, monkeypatch: object) -> None:
    monkeypatch.setenv("SEED", "42")  # type: ignore[attr-defined]
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hunter2")  # type: ignore[attr-defined]
    text = (project / "mlv.toml").read_text().replace("variables = []", 'variables = ["SEED"]')
    (project / "mlv.toml").write_text(text)
    write(project / "data/x", "1")
    mlv("track", "data/x")
    mlv("snapshot")
    lock_text = (project / "mlv.lock").read_text()
    assert json.loads(lock_text)["environment"]["variables"] == {"SEED": "42"}
    assert "hunter2" not in lock_text


def test_snapshot_of_missing_tracked_path(project: Path, mlv: MlvRunner) -> None:
    write(project / "data/x", "1")
    mlv("track", "data/x")
    (project / "data/x").unlink()
    result = mlv("snapshot")
    assert result.code == 2 and "does not exist" in result.err and "mlv untrack" in result.err
    assert not (project / "mlv.lock").exists()


def test_a_second_snapshot_reports_what_did_not_change(project: Path, mlv: MlvRunner) -> None:
    write(project / "a.csv", "x\n1\n")
    write(project / "b.csv", "y\n2\n")
    assert mlv("track", "a.csv", "b.csv").code == 0
    assert mlv("snapshot", "-m", "one").code == 0
    write(project / "b.csv", "y\n3\n")
    doc = json.loads(mlv("snapshot", "-m", "two", "--json").out)
    changes = {a["path"]: a["change"] for a in doc["artifacts"]}
    assert changes == {"a.csv": "unchanged", "b.csv": "modified"}


def test_an_executable_file_artifact_comes_back_executable(project: Path, mlv: MlvRunner) -> None:
    write(project / "tools/run.sh", "#!/bin/sh\necho hi\n", mode=0o755)
    assert mlv("track", "tools/run.sh").code == 0
    assert mlv("snapshot", "-m", "tool").code == 0
    assert json.loads((project / "mlv.lock").read_text())["artifacts"]["tools/run.sh"]["executable"]
    (project / "tools/run.sh").unlink()
    assert mlv("checkout").code == 0
    assert os.access(project / "tools/run.sh", os.X_OK)


def test_a_git_without_identity_is_a_setup_step_not_a_crash(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No user.email: exit 2 with how to set it, and mlv.lock staged for the commit that follows."""
    anonymous = tmp_path / "anonymous.gitconfig"
    anonymous.write_text("[user]\n\tuseConfigOnly = true\n[commit]\n\tgpgsign = false\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(anonymous))
    for var in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "EMAIL",
    ):
        monkeypatch.delenv(var, raising=False)
    write(project / "data.txt", "1\n")
    assert mlv("track", "data.txt").code == 0
    result = mlv("snapshot", "-m", "first")
    assert result.code == 2, result.err
    assert "git does not know who you are" in result.err
    assert "git config --global user.email" in result.err and "Traceback" not in result.err
    git(
        project,
        "-c",
        "user.name=me",
        "-c",
        "user.email=me@example.invalid",
        "commit",
        "-qm",
        "first",
    )
    assert "mlv.lock" in git(project, "show", "--name-only", "--format=", "HEAD").split()
