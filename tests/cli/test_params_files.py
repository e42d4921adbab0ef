"""Params files a stage reads (JSON, YAML, TOML) that are missing, malformed or lack a key.

Each is a user mistake: `mlv run` says so in one `error:` line with a `hint:`, exits 2, runs
nothing and writes nothing (no output, no mlv.lock).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import MlvRunner, git, write


def _stage_with_params(project: Path, mlv: MlvRunner, spec: str) -> None:
    result = mlv("stage", "add", "s", "-p", spec, "-o", "out.txt", "--", "echo ran > out.txt")
    assert result.code == 0, result.err


def _refused(project: Path, mlv: MlvRunner) -> list[str]:
    """Run the stage; assert it was refused as bad input with nothing written. The error lines."""
    before = sorted(p.name for p in project.iterdir())
    result = mlv("run")
    assert result.code == 2, (result.out, result.err)
    assert "Traceback" not in result.err
    assert not (project / "out.txt").exists()
    assert not (project / "mlv.lock").exists()
    assert sorted(p.name for p in project.iterdir()) == before
    lines = [line for line in result.err.splitlines() if line.startswith(("error:", "hint:"))]
    assert [line.split(":")[0] for line in lines] == ["error", "hint"], result.err
    return lines


def test_a_toml_syntax_error_is_reported_once_with_its_own_hint(
    project: Path, mlv: MlvRunner
) -> None:
    write(project / "params.toml", "lr = [\n")
    _stage_with_params(project, mlv, "params.toml")
    error, hint = _refused(project, mlv)
    # Once, not "params.toml cannot be parsed: params.toml is not valid TOML: ...".
    assert error.startswith("error: params.toml is not valid TOML: ")
    assert error.count("params.toml") == 1
    assert hint == "hint: fix the syntax in params.toml"


def test_a_json_syntax_error_names_the_file_and_the_formats(project: Path, mlv: MlvRunner) -> None:
    write(project / "params.json", '{"lr": 0.1,}')
    _stage_with_params(project, mlv, "params.json")
    error, hint = _refused(project, mlv)
    assert error.startswith("error: params.json cannot be parsed: ")
    assert hint == "hint: params and metrics files are JSON, YAML (.yaml) or TOML (.toml)"


def test_a_yaml_syntax_error_names_the_file(project: Path, mlv: MlvRunner) -> None:
    write(project / "params.yaml", "lr: [0.1\nseed: 1\n")
    _stage_with_params(project, mlv, "params.yaml")
    error, hint = _refused(project, mlv)
    assert error.startswith("error: params.yaml cannot be parsed: ")
    assert "\n" not in error
    assert hint.startswith("hint: ")


@pytest.mark.parametrize(
    ("name", "content"),
    [("params.json", "[1, 2]"), ("params.yaml", "- 1\n- 2\n"), ("params.json", "3")],
)
def test_a_params_file_that_is_not_a_mapping(
    project: Path, mlv: MlvRunner, name: str, content: str
) -> None:
    write(project / name, content)
    _stage_with_params(project, mlv, name)
    error, _hint = _refused(project, mlv)
    assert error == f"error: {name} must hold a mapping of names to values"


def test_a_missing_params_file(project: Path, mlv: MlvRunner) -> None:
    _stage_with_params(project, mlv, "nowhere.json")
    error, hint = _refused(project, mlv)
    assert error == "error: nowhere.json does not exist"
    assert hint == "hint: create it, or fix the stage"


def test_a_missing_key_lists_the_keys_there(project: Path, mlv: MlvRunner) -> None:
    write(project / "params.json", json.dumps({"train": {"lr": 0.1}, "seed": 1}))
    _stage_with_params(project, mlv, "params.json:train.epochs")
    error, hint = _refused(project, mlv)
    assert error == "error: param 'train.epochs' is not in params.json"
    assert hint == "hint: keys there: seed, train.lr"


def test_params_broken_after_a_run_are_a_stale_reason_and_refuse_dry_run_and_run_alike(
    project: Path, mlv: MlvRunner
) -> None:
    write(project / "params.json", json.dumps({"lr": 0.1}))
    git(project, "add", "params.json")
    git(project, "commit", "-qm", "params")
    _stage_with_params(project, mlv, "params.json:lr")
    assert mlv("run").code == 0
    lock = (project / "mlv.lock").read_bytes()
    write(project / "params.json", "{not json")
    status = mlv("status", "--json")
    assert status.code == 0, status.err
    (stage,) = json.loads(status.out)["stages"]
    assert any(
        r.startswith("params unreadable: params.json cannot be parsed: ") for r in stage["reasons"]
    ), stage
    dry, real = mlv("run", "--dry-run"), mlv("run")
    assert dry.code == real.code == 2
    assert dry.err == real.err
    assert real.err.startswith("error: params.json cannot be parsed: ")
    assert "running s" not in real.err  # refused before the command, not after it ran
    assert (project / "out.txt").read_text() == "ran\n"
    assert (project / "mlv.lock").read_bytes() == lock
