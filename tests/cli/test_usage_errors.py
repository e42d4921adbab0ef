"""User mistakes through the real CLI: each is one `error:` line and one `hint:` line, exit 2
(bad input), no traceback, and nothing changed on disk (work tree, mlv.toml, mlv.lock, HEAD)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import MlvRunner, Result, git, write


def state(root: Path) -> dict[str, object]:
    """What a refused command must leave alone: the user's files, HEAD and git's view.

    .git and .mlv are left out: opening a project may create mlv's own store and lock files.
    """
    files: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [
            d for d in dirnames if (dirpath, d) not in ((str(root), ".git"), (str(root), ".mlv"))
        ]
        for name in filenames + dirnames:
            path = Path(dirpath) / name
            rel = os.path.relpath(path, root)
            files[rel] = (
                os.readlink(path)
                if path.is_symlink()
                else None
                if path.is_dir()
                else path.read_bytes()
            )
    files[".git HEAD"] = git(root, "rev-parse", "HEAD")
    files[".git status"] = git(root, "status", "--porcelain", "--untracked-files=all")
    return files


def refused(result: Result, error: str, hint: str | None = None, code: int = 2) -> None:
    """Exactly one error line (``error``) and one hint line (``hint`` when given), exit ``code``."""
    lines = result.err.strip().splitlines()
    assert result.code == code, result.err
    assert "Traceback" not in result.err
    assert [line.split(":")[0] for line in lines] == ["error", "hint"], result.err
    assert lines[0] == f"error: {error}"
    if hint is not None:
        assert lines[1] == f"hint: {hint}"


@pytest.fixture
def snapshotted(project: Path, mlv: MlvRunner) -> Path:
    """A project with directory ``data`` (a.csv, b/c.csv) tracked and snapshotted."""
    write(project / "data/a.csv", "1\n")
    write(project / "data/b/c.csv", "2\n")
    assert mlv("track", "data").code == 0
    assert mlv("snapshot", "-m", "data").code == 0
    return project


@pytest.mark.parametrize(
    ("args", "error", "hint"),
    [
        (["checkout"], "there is no mlv.lock to check out", "run `mlv snapshot` first"),
        (["show"], "there is no mlv.lock yet", "run `mlv snapshot` to write one"),
        (["lineage", "x"], "there is no mlv.lock yet", "run `mlv run` or `mlv snapshot` first"),
    ],
)
def test_commands_that_need_a_lock_say_how_to_get_one(
    project: Path, mlv: MlvRunner, args: list[str], error: str, hint: str
) -> None:
    before = state(project)
    refused(mlv(*args), error, hint)
    assert state(project) == before


def test_checkout_of_a_path_the_snapshot_does_not_hold(snapshotted: Path, mlv: MlvRunner) -> None:
    before = state(snapshotted)
    refused(
        mlv("checkout", "HEAD", "--", "elsewhere.csv"),
        "elsewhere.csv is not a tracked path in this snapshot",
        "`mlv show [REV]` lists the artifacts a snapshot holds"
        " (if you meant a revision: git does not know it)",
    )
    refused(
        mlv("checkout", "HEAD", "--", "data/nope.csv"),
        "data/nope.csv is not in the snapshot of data",
    )
    assert state(snapshotted) == before


def test_checkout_puts_a_file_back_where_an_empty_directory_stands(
    snapshotted: Path, mlv: MlvRunner
) -> None:
    (snapshotted / "data/a.csv").unlink()
    (snapshotted / "data/a.csv/x/y").mkdir(parents=True)  # empty directories in a file's place
    result = mlv("checkout", "--force", "--", "data/a.csv")
    assert result.code == 0, result.err
    assert (snapshotted / "data/a.csv").read_text() == "1\n"


def test_checkout_removes_a_file_and_keeps_its_directory_that_still_has_files(
    snapshotted: Path, mlv: MlvRunner
) -> None:
    write(snapshotted / "data/b/d.csv", "3\n")
    assert mlv("snapshot", "-m", "d added").code == 0
    result = mlv("checkout", "HEAD~1")
    assert result.code == 0, result.err
    assert not (snapshotted / "data/b/d.csv").exists()
    assert (snapshotted / "data/b/c.csv").read_text() == "2\n"
    assert sorted(p.name for p in (snapshotted / "data/b").iterdir()) == ["c.csv"]


class TestStageAdd:
    def test_a_second_stage_of_the_same_name_needs_force(
        self, project: Path, mlv: MlvRunner
    ) -> None:
        assert mlv("stage", "add", "s", "-o", "o.txt", "--", "echo > o.txt").code == 0
        before = state(project)
        refused(
            mlv("stage", "add", "s", "-o", "p.txt", "--", "echo > p.txt"),
            "stage s already exists",
            "pass --force to replace it",
        )
        assert state(project) == before

    @pytest.mark.parametrize(
        ("kind_of", "error", "hint"),
        [
            (
                "other.txt=model",
                "--kind-of names other.txt, which is not an output of the stage",
                None,
            ),
            (
                "o.txt=weights",
                "unknown kind 'weights'",
                "kinds are: data, features, model, env, metrics, other",
            ),
        ],
    )
    def test_a_bad_kind_of(
        self, project: Path, mlv: MlvRunner, kind_of: str, error: str, hint: str | None
    ) -> None:
        before = state(project)
        result = mlv("stage", "add", "s", "-o", "o.txt", "--kind-of", kind_of, "--", "true")
        refused(result, error, hint)
        assert state(project) == before

    def test_an_output_tracked_by_git(self, project: Path, mlv: MlvRunner) -> None:
        write(project / "models/m.txt", "committed\n")
        git(project, "add", "models")
        git(project, "commit", "-qm", "a model in git")
        before = state(project)
        refused(
            mlv("stage", "add", "s", "-o", "models", "--", "true"),
            "output models is tracked by git",
            "stop tracking it in git first: git rm -r --cached models",
        )
        assert state(project) == before


def test_track_refuses_a_symlink(project: Path, mlv: MlvRunner) -> None:
    write(project / "real/a.csv", "1\n")
    (project / "link").symlink_to("real")
    before = state(project)
    refused(
        mlv("track", "link"), "link is a symbolic link", "track the file or directory it points to"
    )
    assert state(project) == before


def test_untrack_refuses_a_stage_output_and_an_unknown_path(project: Path, mlv: MlvRunner) -> None:
    assert mlv("stage", "add", "s", "-o", "o.txt", "--", "echo > o.txt").code == 0
    before = state(project)
    refused(
        mlv("untrack", "o.txt"),
        "o.txt is an output of stage s",
        "remove it from the stage (edit [stages.s] in mlv.toml) to stop tracking it",
    )
    refused(
        mlv("untrack", "never.csv", "nor.csv"),
        "not a tracked path: never.csv, nor.csv",
        "`mlv status` lists the tracked paths",
    )
    assert state(project) == before


def test_run_of_an_unknown_stage_lists_the_stages(project: Path, mlv: MlvRunner) -> None:
    before = state(project)
    refused(mlv("run", "train"), "no such stage: train", "stages: (none; see mlv stage add)")
    assert mlv("stage", "add", "prep", "-o", "o.txt", "--", "echo > o.txt").code == 0
    refused(
        mlv("run", "--dry-run", "train", "prep", "eval"),
        "no such stage: train, eval",
        "stages: prep",
    )
    assert not (project / "o.txt").exists()
    assert not (project / "mlv.lock").exists()
    assert before[".git HEAD"] == state(project)[".git HEAD"]


def test_reproduce_of_a_snapshot_without_stages(snapshotted: Path, mlv: MlvRunner) -> None:
    before = state(snapshotted)
    refused(
        mlv("reproduce", "HEAD"),
        "HEAD records no pipeline stages; there is nothing to re-run",
        "declare stages (mlv stage add), mlv run, then mlv snapshot",
    )
    assert state(snapshotted) == before
    assert git(snapshotted, "worktree", "list").count("\n") == 0  # no isolated copy left


@pytest.mark.parametrize("value", ["abc", "-1", "nan"])
def test_a_bad_lock_timeout_is_refused_before_anything_is_done(
    snapshotted: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    write(snapshotted / "data/a.csv", "edited\n")
    before = state(snapshotted)
    monkeypatch.setenv("MLV_LOCK_TIMEOUT", value)
    refused(
        mlv("snapshot", "-m", "x"),
        f"MLV_LOCK_TIMEOUT={value!r} is not a number of seconds",
        "e.g. 300",
    )
    assert state(snapshotted) == before


def test_hooks_install_will_not_overwrite_a_saved_user_hook(project: Path, mlv: MlvRunner) -> None:
    hooks = project / ".git/hooks"
    write(hooks / "pre-commit", "#!/bin/sh\necho the user's new hook\n", 0o755)
    write(hooks / "pre-commit.mlv-user", "#!/bin/sh\necho the user's saved hook\n", 0o755)
    before = {p.name: p.read_bytes() for p in hooks.iterdir()}
    result = mlv("hooks", "install")
    refused(
        result,
        f"{hooks / 'pre-commit'} is not mlv's and pre-commit.mlv-user already exists",
        "move one of them away, or pass --force to replace the saved hook",
    )
    assert {p.name: p.read_bytes() for p in hooks.iterdir()} == before


def test_lineage_names_tracked_code_and_unknown_inputs(project: Path, mlv: MlvRunner) -> None:
    write(project / "raw/a.csv", "1\n")
    write(project / "prep.py", "print('prep')\n")
    write(project / "scratch.txt", "neither in git nor tracked\n")
    git(project, "add", "prep.py")
    git(project, "commit", "-qm", "code")
    assert mlv("track", "raw").code == 0
    assert mlv("snapshot", "-m", "raw").code == 0
    cmd = "cat raw/a.csv scratch.txt > out.txt"
    assert (
        mlv(
            "stage",
            "add",
            "s",
            "-d",
            "raw",
            "-d",
            "prep.py",
            "-d",
            "scratch.txt",
            "-o",
            "out.txt",
            "--",
            cmd,
        ).code
        == 0
    )
    assert mlv("run").code == 0
    result = mlv("lineage", "out.txt", "--format", "json")
    assert result.code == 0, result.err
    inputs = {i["path"]: i["origin"] for i in json.loads(result.out)["lineage"]["inputs"]}
    assert inputs == {"raw": "tracked", "prep.py": "code", "scratch.txt": "unknown"}
    direct = json.loads(mlv("lineage", "raw", "--format", "json").out)["lineage"]
    assert (direct["origin"], direct["stage"], direct["inputs"]) == ("tracked", None, [])


def test_lineage_of_a_lock_whose_stages_form_a_cycle_ends(project: Path, mlv: MlvRunner) -> None:
    """A hand-edited mlv.lock where a needs b and b needs a: lineage stops, it does not loop."""
    write(project / "x.txt", "x\n")
    assert mlv("stage", "add", "a", "-d", "x.txt", "-o", "a.txt", "--", "cp x.txt a.txt").code == 0
    assert mlv("stage", "add", "b", "-d", "a.txt", "-o", "b.txt", "--", "cp a.txt b.txt").code == 0
    assert mlv("run").code == 0
    doc = json.loads((project / "mlv.lock").read_text())
    doc["stages"]["a"]["deps"] = {"b.txt": doc["stages"]["b"]["outs"]["b.txt"]}
    (project / "mlv.lock").write_text(json.dumps(doc))
    result = mlv("lineage", "b.txt", "--format", "json")
    assert result.code == 0, result.err
    b = json.loads(result.out)["lineage"]
    (a,) = b["inputs"]
    (b_again,) = a["inputs"]
    assert (b["stage"], a["stage"], b_again["stage"], b_again["inputs"]) == ("b", "a", "b", [])


def test_reproduce_of_a_stage_the_snapshot_does_not_record(project: Path, mlv: MlvRunner) -> None:
    assert mlv("stage", "add", "prep", "-o", "o.txt", "--", "echo > o.txt").code == 0
    assert mlv("run").code == 0
    assert mlv("snapshot", "-m", "prep ran").code == 0
    before = state(project)
    refused(
        mlv("reproduce", "HEAD", "--stage", "train"),
        "no stage 'train' recorded in this snapshot",
        "recorded stages: prep",
    )
    assert state(project) == before
    assert git(project, "worktree", "list").count("\n") == 0
