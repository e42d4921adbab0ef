"""Start-up refuses to run when another distribution named `mlv` shares mlv's package directory.

PyPI's unrelated `mlv` (1.3.10 installs `mlv/__init__.py`, `mlv/http.py`, ... and no scripts) is
copied here as it lands in site-packages, beside a real copy of this mlv package.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import mlv

THEIR_INIT = '__all__ = ["drawing", "mps_workaround"]\n'


def _site(tmp_path: Path) -> Path:
    site = tmp_path / "site-packages"
    shutil.copytree(
        Path(mlv.__file__).parent, site / "mlv", ignore=shutil.ignore_patterns("__pycache__")
    )
    (site / "mlv_cli-0.1.0.dist-info").mkdir()
    return site


def _their_metadata(site: Path, version: str) -> None:
    info = site / f"mlv-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: mlv\nVersion: {version}\n")


def _run(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # As the console script does: import mlv.cli.main from the directory given, then main().
    code = "import sys\nfrom mlv.cli.main import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
        cwd=site,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_alone_it_runs(tmp_path: Path) -> None:
    site = _site(tmp_path)
    result = _run(site, "--version")
    assert result.returncode == 0, result.stderr
    assert "mlv, version" in result.stdout


@pytest.mark.parametrize("args", [("--version",), ("--help",), ("hooks", "run", "pre-commit")])
def test_installed_after_it_the_other_mlv_is_named(tmp_path: Path, args: tuple[str, ...]) -> None:
    site = _site(tmp_path)
    _their_metadata(site, "1.3.10")
    (site / "mlv" / "__init__.py").write_text(THEIR_INIT)  # theirs was installed last
    result = _run(site, *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "is not mlv's: another package named `mlv`" in result.stderr
    assert "hint: pip uninstall mlv mlv-cli, then pip install mlv-cli" in result.stderr


def test_installed_before_it_the_other_mlv_is_named(tmp_path: Path) -> None:
    site = _site(tmp_path)
    _their_metadata(site, "1.3.10")
    result = _run(site, "status")
    assert result.returncode == 2
    assert "PyPI's unrelated project `mlv` 1.3.10 beside mlv-cli" in result.stderr
    assert "uninstalling one breaks the other" in result.stderr


def test_this_project_under_its_former_name_is_named_too(tmp_path: Path) -> None:
    site = _site(tmp_path)
    _their_metadata(site, "0.1.0")
    result = _run(site, "--version")
    assert result.returncode == 2
    assert "this project under its former distribution name `mlv` 0.1.0" in result.stderr
