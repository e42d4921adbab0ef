"""`mlv completion SHELL`: the script click writes, and what a real bash completes with it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MlvRunner


@pytest.fixture
def mlv_on_path(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH has an `mlv` that runs this checkout's mlv."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "mlv"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m mlv "$@"\n')
    shim.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_script_calls_mlv_with_clicks_protocol(mlv: MlvRunner, shell: str) -> None:
    result = mlv("completion", shell)
    assert result.code == 0, result.err
    assert f"_MLV_COMPLETE={shell}_complete" in result.out
    assert "_mlv_completion" in result.out


def test_an_unknown_shell_is_a_usage_error(mlv: MlvRunner) -> None:
    result = mlv("completion", "tcsh")
    assert result.code == 2
    assert "'tcsh' is not one of 'bash', 'zsh', 'fish'" in result.err


def _bash_complete(env: dict[str, str], *words: str) -> list[str]:
    script = (
        'source <(mlv completion bash)\nCOMP_WORDS=("$@")\nCOMP_CWORD=$(($# - 1))\n'
        '_mlv_completion mlv\nprintf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        ["bash", "-c", script, "bash", "mlv", *words],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.split()


def test_bash_completes_commands_options_and_choices(mlv_on_path: dict[str, str]) -> None:
    assert _bash_complete(mlv_on_path, "sta") == ["status", "stage"]
    assert _bash_complete(mlv_on_path, "checkout", "--fo") == ["--force"]
    assert _bash_complete(mlv_on_path, "completion", "") == ["bash", "zsh", "fish"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_protocols_answer(mlv_on_path: dict[str, str], shell: str) -> None:
    env = {**mlv_on_path, "_MLV_COMPLETE": f"{shell}_complete", "COMP_WORDS": "mlv sna"}
    env["COMP_CWORD"] = "sna" if shell == "fish" else "1"
    done = subprocess.run(["mlv"], env=env, capture_output=True, text=True, check=True, timeout=60)
    assert "snapshot" in done.stdout
