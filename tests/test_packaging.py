"""The built distribution works outside the checkout.

`python -m build` makes the sdist, then the wheel from the sdist (so both are proven complete);
the wheel is installed, never editable, into a fresh virtual environment without system
packages, and a short flow runs from a directory far from the checkout, with only that
environment on PATH: files that exist only in the checkout (the hook shim) fail it. Dependencies
come from the package index pip is configured with (here a local mirror; no other network).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

import mlv
from tests.conftest import make_repo, write

pytestmark = pytest.mark.slow

CHECKOUT = Path(__file__).resolve().parents[1]
VERSION = mlv.__version__
WHEEL = f"mlv_cli-{VERSION}-py3-none-any.whl"


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdist and wheel, built once per test session (xdist workers share them under a lock)."""
    # Under xdist each worker's base directory lies in the session's; without it, the base
    # directory is the session's own (its parent outlives the session: never reuse a wheel).
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "mlv-dist"
    shared.mkdir(exist_ok=True)
    with open(shared / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / WHEEL).exists():
            subprocess.run(
                [sys.executable, "-m", "build", "--outdir", str(shared), str(CHECKOUT)],
                check=True,
                capture_output=True,
                timeout=600,
            )
    return shared


def _clean_env(bin_dir: Path, **extra: str) -> dict[str, str]:
    """This test's HOME and git identity, and on PATH only ``bin_dir`` and the system's tools:
    nothing of the checkout's .venv, no PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join([str(bin_dir), "/usr/local/bin", "/usr/bin", "/bin"])
    env.update(extra)
    return env


def _run(
    cmd: list[str], cwd: Path, env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600
    )
    if check:
        assert done.returncode == 0, f"{cmd}: {done.stdout}\n{done.stderr}"
    return done


def _pip_into(python: Path, *args: str) -> None:
    """pip (of the test's own interpreter) installs into another environment, configured as
    pip is here; the fresh environment needs no pip of its own."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def fresh_venv(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "venv"
    venv.create(root, with_pip=False, system_site_packages=False, symlinks=True)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_the_wheel_holds_the_package_the_shim_and_the_licence(dist: Path) -> None:
    import zipfile

    names = set(zipfile.ZipFile(dist / WHEEL).namelist())
    assert {"mlv/__init__.py", "mlv/_hooks/mlv-hook.sh", "mlv/py.typed"} <= names
    assert f"mlv_cli-{VERSION}.dist-info/licenses/LICENSE" in names
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)
    metadata = zipfile.ZipFile(dist / WHEEL).read(f"mlv_cli-{VERSION}.dist-info/METADATA")
    assert b"Name: mlv-cli\n" in metadata and f"Version: {VERSION}\n".encode() in metadata
    assert b"License-Expression: Apache-2.0" in metadata
    assert (dist / f"mlv_cli-{VERSION}.tar.gz").exists()


def _flow(mlv_cmd: list[str], work: Path, env: dict[str, str]) -> dict[str, object]:
    """init, track, snapshot twice, checkout the first; the lock's record of its writer."""
    project = make_repo(work / "project")
    write(project / "data" / "d.csv", "a\n1\n")
    for args in (["init"], ["track", "data"], ["snapshot", "-m", "one"]):
        _run([*mlv_cmd, *args], project, env)
    write(project / "data" / "d.csv", "a\n2\n")
    _run([*mlv_cmd, "snapshot", "-m", "two"], project, env)
    _run([*mlv_cmd, "checkout", "HEAD~1"], project, env)
    assert (project / "data" / "d.csv").read_text() == "a\n1\n"
    writer: dict[str, object] = json.loads((project / "mlv.lock").read_text())["mlv"]
    return writer


def test_the_wheel_installed_in_a_fresh_venv_runs_outside_the_checkout(
    dist: Path, fresh_venv: Path, tmp_path: Path
) -> None:
    # Resolved from a package index (the wheel's directory as a find-links index): no
    # direct_url.json, so mlv records an index install that a restore can repeat by name.
    _pip_into(fresh_venv / "bin" / "python", "--find-links", str(dist), f"mlv-cli=={VERSION}")
    bin_dir = fresh_venv / "bin"
    env = _clean_env(bin_dir)
    work = tmp_path / "elsewhere"
    work.mkdir()

    where = _run([str(bin_dir / "python"), "-c", "import mlv; print(mlv.__file__)"], work, env)
    assert Path(where.stdout.strip()).is_relative_to(fresh_venv)
    assert _run(["mlv", "--version"], work, env).stdout == f"mlv, version {VERSION}\n"
    completion = _run(["mlv", "completion", "bash"], work, env).stdout
    assert "_MLV_COMPLETE=bash_complete" in completion

    writer = _flow(["mlv"], work, env)
    assert writer == {"distribution": "mlv-cli", "install": "index", "version": VERSION}

    # The hook shim comes from the wheel, and git runs it with the venv's interpreter.
    project = work / "project"
    _run(["mlv", "hooks", "install"], project, env)
    shim = (project / ".git" / "hooks" / "pre-commit").read_text()
    assert "# mlv-hook-shim" in shim and str(bin_dir / "python") in shim
    write(project / "data" / "d.csv", "a\n3\n")
    refused = _run(["git", "commit", "--allow-empty", "-qm", "stale"], project, env, check=False)
    assert refused.returncode == 1 and "commit refused" in refused.stderr
    _run([str(bin_dir / "mlv"), "snapshot", "-m", "three"], project, env)
    assert _run(["git", "log", "--format=%s", "-1"], project, env).stdout == "three\n"


def test_pypis_other_mlv_in_the_same_environment_is_named_and_the_hint_works(
    dist: Path, fresh_venv: Path, tmp_path: Path
) -> None:
    """PyPI's unrelated `mlv` 1.3.10 (a package `mlv` of its own, no scripts) installed over
    mlv-cli: mlv says so instead of failing on an import; the hint's commands repair it."""
    python = fresh_venv / "bin" / "python"
    _pip_into(python, "--find-links", str(dist), f"mlv-cli=={VERSION}")
    _pip_into(python, "--no-deps", "mlv==1.3.10")  # its dependencies (torch...) are not needed
    env = _clean_env(fresh_venv / "bin")
    clash = _run(["mlv", "--version"], tmp_path, env, check=False)
    assert clash.returncode == 2 and "Traceback" not in clash.stderr
    assert "is not mlv's: another package named `mlv`" in clash.stderr
    hint = re.search(r"hint: pip uninstall (.+?), then pip install (\S+?);", clash.stderr)
    assert hint is not None, clash.stderr
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "uninstall", "-y", *hint[1].split()],
        check=True,
        capture_output=True,
    )
    _pip_into(python, "--find-links", str(dist), hint[2])
    assert _run(["mlv", "--version"], tmp_path, env).stdout == f"mlv, version {VERSION}\n"


def _pip_sources() -> list[str]:
    """pip's configured indexes and find-links, as uv options (uv does not read pip.conf)."""
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    options: list[str] = []
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        option = key.rsplit(".", 1)[-1]
        if option in ("index-url", "extra-index-url", "find-links"):
            for item in value.strip("'\"").split():
                options += [f"--{option}", item]
    return options


def test_uv_tool_install_of_the_wheel(dist: Path, tmp_path: Path) -> None:
    uv = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    if uv is None:
        pytest.skip("uv is not installed")
    tools, bin_dir = tmp_path / "uv-tools", tmp_path / "uv-bin"
    env = _clean_env(
        bin_dir,
        UV_TOOL_DIR=str(tools),
        UV_TOOL_BIN_DIR=str(bin_dir),
        UV_CACHE_DIR=str(tmp_path / "uv-cache"),
        UV_NO_CONFIG="1",
        UV_PYTHON_DOWNLOADS="never",
    )
    _run(
        [uv, "tool", "install", *_pip_sources(), "--python", sys.executable, str(dist / WHEEL)],
        tmp_path,
        env,
    )
    assert _run(["mlv", "--version"], tmp_path, env).stdout == f"mlv, version {VERSION}\n"
    writer = _flow(["mlv"], tmp_path, env)
    assert writer["install"] == "local"  # from a wheel file: restore cannot fetch it by name


def test_pipx_install_of_the_wheel(dist: Path, tmp_path: Path) -> None:
    try:
        import pipx  # noqa: F401
    except ImportError:
        pytest.skip("pipx is not installed")
    bin_dir = tmp_path / "pipx-bin"
    env = _clean_env(
        bin_dir,
        PIPX_HOME=str(tmp_path / "pipx-home"),
        PIPX_BIN_DIR=str(bin_dir),
        PIPX_MAN_DIR=str(tmp_path / "pipx-man"),
    )
    _run(
        [sys.executable, "-m", "pipx", "install", "--python", sys.executable, str(dist / WHEEL)],
        tmp_path,
        env,
    )
    assert _run(["mlv", "--version"], tmp_path, env).stdout == f"mlv, version {VERSION}\n"
    assert _flow(["mlv"], tmp_path, env)["install"] == "local"
