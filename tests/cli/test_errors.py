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


# What each fast entry point must not load. mlv imports these lazily, where they are needed:
# rich and msgspec for output, xxhash for hashing, tomlkit only to rewrite mlv.toml, yaml only for
# YAML params, fsspec (and s3fs through it) only to reach a remote, pyarrow, numpy, DuckDB and
# fastdigest only to read a table (the snapshot below has one), vl_convert only to draw a
# report. A module-level import of any of them in a module these entry points load turns this red.
_LAZY = (
    "fsspec", "s3fs", "tomlkit", "yaml", "pyarrow", "numpy", "duckdb", "fastdigest", "vl_convert",
    "dvc",
)  # fmt: skip
_ENTRY_POINTS = {
    "help": ("--help",),
    "status": ("status",),
    "pre-commit hook": ("hooks", "run", "pre-commit"),
    "post-checkout hook": ("hooks", "run", "post-checkout", "HEAD", "HEAD", "1"),
}
_FORBIDDEN = {
    "help": ("rich", "msgspec", "xxhash", "mlv.core", *_LAZY),
    "status": _LAZY,
    "pre-commit hook": ("rich", *_LAZY),
    "post-checkout hook": ("rich", *_LAZY),
}


@pytest.mark.parametrize("entry", list(_ENTRY_POINTS))
def test_heavy_libraries_are_imported_only_when_needed(
    entry: str, project: Path, mlv: MlvRunner
) -> None:
    # A project with data, a snapshot, an S3 remote declared and a staged change: the entry points
    # have real work to do, and none of it needs the libraries above.
    write(project / "d.csv", "a\n1\n")
    assert mlv("track", "d.csv").code == 0
    assert mlv("remote", "add", "origin", "s3://bucket/store").code == 0
    assert mlv("snapshot", "-m", "one").code == 0
    write(project / "notes.txt", "staged\n")
    subprocess.run(["git", "add", "notes.txt"], cwd=project, check=True)
    args = _ENTRY_POINTS[entry]
    code = (
        "import sys\n"
        "from mlv.cli.main import main\n"
        f"rc = main({list(args)!r})\n"
        f"forbidden = {_FORBIDDEN[entry]!r}\n"
        "print([m for m in forbidden if m in sys.modules], file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=project, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "[]", result.stderr
