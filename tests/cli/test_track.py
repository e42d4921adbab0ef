from __future__ import annotations

from pathlib import Path

import pytest

from mlv.model.kinds import default_kind
from tests.conftest import MlvRunner, git, write


def test_track_declares_and_ignores_untrack_reverts(project: Path, mlv: MlvRunner) -> None:
    write(project / "data/raw/a.csv", "1")
    write(project / "models/m.pkl", b"m")
    (project / ".gitignore").write_text("*.log\n")
    result = mlv("track", "data/raw", "models/m.pkl", "--kind", "data")
    assert result.code == 0
    toml = (project / "mlv.toml").read_text()
    assert '[artifacts."data/raw"]' in toml and "# mlv declarations" in toml
    ignore = (project / ".gitignore").read_text()
    assert ignore.startswith("*.log\n") and "/data/raw\n" in ignore and "/models/m.pkl\n" in ignore
    assert git(project, "check-ignore", "data/raw/a.csv") == "data/raw/a.csv"

    mlv("snapshot")
    assert mlv("untrack", "data/raw").code == 0
    assert "data/raw" not in (project / "mlv.toml").read_text()
    assert "/data/raw" not in (project / ".gitignore").read_text()
    assert "data/raw" not in (project / "mlv.lock").read_text()
    assert (project / "data/raw/a.csv").exists()
    assert (project / ".gitignore").read_text().startswith("*.log\n")


def test_track_from_a_subdirectory_and_odd_names(
    project: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(project / "data/we[ir]d *name!.csv", "1")
    monkeypatch.chdir(project / "data")
    assert mlv("track", "we[ir]d *name!.csv").code == 0
    assert git(project, "check-ignore", "data/we[ir]d *name!.csv")
    assert git(project, "status", "--porcelain", "--untracked-files=all", "data") == ""
    assert mlv("snapshot").code == 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["nonexistent"], "does not exist"),
        (["../outside"], "outside the repository"),
        (["/"], "outside the repository"),
        (["."], "repository root"),
        (["mlv.toml"], "mlv's own file"),
        ([".git"], ".git component"),
        (["data", "--kind", "weird"], "Invalid value"),
    ],
)
def test_track_rejects_bad_paths(
    project: Path, mlv: MlvRunner, args: list[str], needle: str
) -> None:
    write(project / "data/a", "1")
    result = mlv("track", *args)
    assert result.code == 2
    assert needle in result.err and "hint:" in result.err and "Traceback" not in result.err
    assert "artifacts." not in (project / "mlv.toml").read_text()


def test_track_refuses_git_tracked_and_nested_paths(project: Path, mlv: MlvRunner) -> None:
    write(project / "src/code.py", "x")
    git(project, "add", "src/code.py")
    result = mlv("track", "src")
    assert result.code == 2 and "git rm -r --cached src" in result.err
    write(project / "data/sub/a", "1")
    assert mlv("track", "data").code == 0
    result = mlv("track", "data/sub")
    assert result.code == 2 and "overlaps" in result.err


def test_track_refuses_symlink_out_of_repo(project: Path, mlv: MlvRunner, tmp_path: Path) -> None:
    outside = tmp_path / "outside-data"
    outside.mkdir()
    (project / "link").symlink_to(outside)
    result = mlv("track", "link")
    assert result.code == 2 and "symbolic link" in result.err


def test_symlink_inside_tracked_dir_is_a_clear_error(project: Path, mlv: MlvRunner) -> None:
    write(project / "data/a", "1")
    mlv("track", "data")
    (project / "data/link").symlink_to("/etc/passwd")
    result = mlv("snapshot")
    assert result.code == 2 and "data/link is a symbolic link" in result.err


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("models/m.bin", "model"),
        ("out/clf.joblib", "model"),
        ("data/features/x.parquet", "features"),
        ("metrics.json", "metrics"),
        ("requirements-dev.txt", "env"),
        ("data/raw", "data"),
    ],
)
def test_kind_inference(path: str, kind: str) -> None:
    assert default_kind(path) == kind
