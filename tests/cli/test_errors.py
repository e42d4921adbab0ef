"""The error boundary: one-line error and hint, documented exit codes, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MlvRunner, make_repo, write


def run_process(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "mlv", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_not_a_git_repository(
    tmp_path: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.chdir(plain)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for args in (["init"], ["status"], ["snapshot"]):
        result = mlv(*args)
        assert result.code == 2
        assert result.err.startswith("error: not inside a git repository")
        assert "hint: " in result.err


def test_not_initialised(repo: Path, mlv: MlvRunner) -> None:
    result = mlv("status")
    assert result.code == 2 and "mlv.toml is missing" in result.err and "mlv init" in result.err


def test_unknown_revision_and_option(project: Path, mlv: MlvRunner) -> None:
    result = mlv("show", "no-such-branch")
    assert result.code == 2 and "unknown revision: no-such-branch" in result.err
    result = mlv("status", "--no-such-flag")
    assert result.code == 2 and result.err.startswith("error: No such option")
    assert "hint: see `mlv status --help`" in result.err
    result = mlv("frobnicate")
    assert result.code == 2 and "No such command" in result.err
    result = mlv("show", "HEAD")  # a commit without mlv.lock
    assert result.code == 2 and "has no mlv.lock" in result.err and "mlv log" in result.err


def test_malformed_declarations(project: Path, mlv: MlvRunner) -> None:
    (project / "mlv.toml").write_text("[artifacts\n")
    result = mlv("status")
    assert result.code == 2 and "mlv.toml is not valid TOML" in result.err


def test_no_traceback_in_a_real_process_and_debug_shows_it(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    result = run_process(root, "checkout")
    assert result.returncode == 2
    assert result.stderr.splitlines()[0].startswith("error: ")
    assert result.stderr.splitlines()[1].startswith("hint: ")
    assert "Traceback" not in result.stderr
    debug = run_process(root, "checkout", env={"MLV_DEBUG": "1"})
    assert "Traceback" in debug.stderr


def test_help_and_version_in_a_real_process(tmp_path: Path) -> None:
    result = run_process(tmp_path, "--help")
    assert result.returncode == 0 and "snapshot" in result.stdout and "Exit codes" in result.stdout
    for command in ("init", "track", "untrack", "status", "snapshot", "checkout", "log", "show"):
        sub = run_process(tmp_path, command, "--help")
        assert sub.returncode == 0 and "Usage: mlv " + command in sub.stdout
    version = run_process(tmp_path, "--version")
    assert version.returncode == 0 and "mlv, version" in version.stdout


def test_heavy_libraries_are_not_imported_for_help_or_status(project: Path) -> None:
    write(project / "d.csv", "1")
    code = (
        "import sys; from mlv.cli.main import main; rc = main(['status']);"
        "heavy = [m for m in ('pandas', 'pyarrow', 'git', 'fsspec') if m in sys.modules];"
        "print(heavy); sys.exit(rc)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=project, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("[]")
