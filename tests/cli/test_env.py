"""`mlv env show`, `mlv env diff` between revisions and against the work tree's interpreter, and
the cache commands' edges, run in-process against real repositories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import MlvRunner, git, write


def test_show_and_diff_of_two_revisions(project: Path, mlv: MlvRunner) -> None:
    write(project / "data.txt", "1\n")
    write(project / "requirements.txt", "numpy==1.26.4\nrequests>=2\n")
    assert mlv("track", "data.txt").code == 0
    assert mlv("snapshot", "-m", "one").code == 0
    write(project / "requirements.txt", "numpy==2.0.0\nrequests>=2\nscipy==1.13\n")
    assert mlv("snapshot", "-m", "two").code == 0

    shown = mlv("env", "show")
    assert shown.code == 0 and "python:   CPython" in shown.out and "requirements.txt:" in shown.out
    data = json.loads(mlv("env", "show", "HEAD~1", "--json").out)
    assert data["environment"]["lockfiles"]["requirements.txt"].startswith("xxh128:")
    assert data["mlv"]["distribution"] == "mlv-cli"

    diff = mlv("env", "diff", "HEAD~1", "HEAD")
    assert diff.code == 0
    assert "lockfile modified: requirements.txt" in diff.out
    assert "~ numpy ==1.26.4 -> ==2.0.0" in diff.out and "+ scipy ==1.13" in diff.out
    data = json.loads(mlv("env", "diff", "HEAD~1", "HEAD", "--json").out)
    assert data["packages"]["upgraded"] == [] and data["same"] is False
    assert data["lockfiles"][0]["pins"][0] == {"name": "numpy", "old": "==1.26.4", "new": "==2.0.0"}

    # Against the running interpreter (default HEAD): the lockfile edited in the work tree is
    # read from disk for its pins.
    write(project / "requirements.txt", "numpy==2.1.0\nrequests>=2\nscipy==1.13\n")
    now = json.loads(mlv("env", "diff", "--json").out)
    assert now["new"] == "current"
    assert now["lockfiles"][0]["pins"] == [{"name": "numpy", "old": "==2.0.0", "new": "==2.1.0"}]
    same = mlv("env", "diff", "HEAD", "HEAD")
    assert "no differences" in same.out


def test_bad_input_is_a_clear_error(project: Path, mlv: MlvRunner, tmp_path: Path) -> None:
    write(project / "data.txt", "1\n")
    assert mlv("track", "data.txt").code == 0
    nothing = mlv("env", "show")
    assert nothing.code == 2 and "has no mlv.lock" in nothing.err
    assert mlv("snapshot", "-m", "one").code == 0
    unknown = mlv("env", "diff", "no-such-rev")
    assert unknown.code == 2 and "unknown revision" in unknown.err
    missing = mlv("env", "cache", "remove")
    assert missing.code == 2 and "--all" in missing.err
    none = mlv("env", "cache", "remove", "abc123")
    assert none.code == 2 and "no cached environment" in none.err
    listed = json.loads(mlv("env", "cache", "list", "--json").out)
    assert listed["environments"] == [] and listed["root"].endswith("mlv/envs")
    # A directory that is not empty and not a restore of mlv's is never touched.
    target = write(tmp_path / "mine" / "keep.txt", "mine\n").parent
    refused = mlv("env", "restore", "HEAD", "--venv", str(target), "--no-index")
    assert refused.code == 2 and "not empty" in refused.err
    assert (target / "keep.txt").read_text() == "mine\n"
    git(project, "status")  # the repository is untouched and still a repository


def test_restore_progress_prints_paths_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    """A venv path with brackets is shown as it is, not read as rich markup (or dropped)."""
    from mlv.cli.commands.env import on_step

    on_step(False)("code", "the code into /tmp/[red]v[/red]")
    assert "/tmp/[red]v[/red]" in capsys.readouterr().err


def test_the_cache_commands_touch_only_mlv_entries(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MLV_ENV_CACHE pointed at a directory that holds other things: `list` names only mlv's
    entries (the others as ignored), `remove --all` removes only those."""
    root = tmp_path / "fh"
    monkeypatch.setenv("MLV_ENV_CACHE", str(root))
    keep = write(root / "Documents" / "thesis.tex", "mine\n")
    odd = write(root / ("a" * 32) / "notes.txt", "fingerprint-named, but not mlv's\n")
    ready = write(
        root / ("b" * 32) / "mlv-env.json", json.dumps({"fingerprint": "xxh128:" + "b" * 32})
    )
    killed = write(root / ("c" * 32) / ".mlv-building", "123\n").parent
    debris = (root / ("d" * 32) / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    assert debris is None

    listed = json.loads(mlv("env", "cache", "list", "--json").out)
    names = sorted(Path(e["path"]).name for e in listed["environments"])
    assert names == ["b" * 32, "c" * 32, "d" * 32]
    assert sorted(Path(p).name for p in listed["ignored"]) == ["Documents", "a" * 32]
    human = mlv("env", "cache", "list").out
    assert "ignored (not an environment of mlv's):" in human and "Documents" in human
    assert "incomplete" in human

    refused = mlv("env", "cache", "remove", "Doc")
    assert refused.code == 2 and keep.exists()
    assert mlv("env", "cache", "remove", "--all").code == 0
    assert keep.read_text() == "mine\n" and odd.exists()
    assert not ready.parent.exists() and not killed.exists() and not (root / ("d" * 32)).exists()


def test_paths_that_cannot_be_used_are_user_errors(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert mlv("stage", "add", "s", "-o", "out.txt", "--", "echo hi > out.txt").code == 0
    assert mlv("run").code == 0
    assert mlv("snapshot", "-m", "one").code == 0
    monkeypatch.setenv("MLV_ENV_CACHE", str(tmp_path / "cache"))
    afile = write(tmp_path / "afile", "x\n")
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    for venv in (afile / "sub", afile, dangling, Path("/proc/x")):
        done = mlv("env", "restore", "HEAD", "--venv", str(venv), "--no-index")
        assert done.code == 2, (venv, done.err)
        assert "hint:" in done.err and "Traceback" not in done.err
    assert afile.read_text() == "x\n" and dangling.is_symlink()

    monkeypatch.setenv("MLV_ENV_CACHE", str(afile))
    for args in (["env", "cache", "list"], ["reproduce", "--env", "recorded", "--no-index"]):
        done = mlv(*args)
        assert done.code == 2 and "is not a directory" in done.err and "hint:" in done.err


def test_a_repository_without_commits_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlv: MlvRunner
) -> None:
    """HEAD of a new repository is not a mistyped revision: the hint says what to do first."""
    root = tmp_path / "new"
    root.mkdir()
    git(root, "init", "-q")
    monkeypatch.chdir(root)
    assert mlv("init").code == 0
    for args in (("env", "show"), ("env", "diff"), ("diff",)):
        result = mlv(*args)
        assert result.code == 2, args
        assert "no commits yet" in result.err and "mlv snapshot -m" in result.err, args
    git(root, "commit", "-q", "--allow-empty", "-m", "first")
    typo = mlv("env", "diff", "no-such-rev")
    assert typo.code == 2 and "no commits yet" not in typo.err and "see `mlv log`" in typo.err
