"""`mlv run` when the stage's command misbehaves or an earlier run left a marker behind."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import MlvRunner, write


def test_a_stage_that_succeeds_without_writing_its_output_is_a_failure(
    project: Path, mlv: MlvRunner
) -> None:
    assert mlv("stage", "add", "s", "-o", "a.txt", "-o", "b.txt", "--", "echo a > a.txt").code == 0
    result = mlv("run")
    assert result.code == 1
    assert "Traceback" not in result.err
    assert "error: stage s succeeded but did not write its output b.txt\n" in result.err
    assert "hint: make the command write it, or remove it from the stage's outputs\n" in result.err
    assert not (project / "mlv.lock").exists()  # nothing recorded
    # As after a failure: what it left is its own, so a fixed command may replace it.
    assert (
        mlv(
            "stage",
            "add",
            "--force",
            "s",
            "-o",
            "a.txt",
            "-o",
            "b.txt",
            "--",
            "echo A > a.txt; echo B > b.txt",
        ).code
        == 0
    )
    rerun = mlv("run")
    assert rerun.code == 0, rerun.err
    assert (project / "a.txt").read_text() == "A\n"
    assert set(json.loads((project / "mlv.lock").read_text())["stages"]["s"]["outs"]) == {
        "a.txt",
        "b.txt",
    }


def test_a_marker_of_an_older_mlv_naming_a_live_process_group_refuses_the_run(
    project: Path, mlv: MlvRunner
) -> None:
    """Older markers hold the bare process group: it is still honoured (this one is alive)."""
    assert mlv("stage", "add", "s", "-o", "o.txt", "--", "echo > o.txt").code == 0
    group = os.getpgrp()
    write(project / ".mlv/tmp/running-s", str(group))
    result = mlv("run")
    assert result.code == 1
    assert result.err.splitlines() == [
        f"error: stage s of an interrupted `mlv run` is still running (process group {group})",
        f"hint: let it finish or stop it (kill -- -{group}), then run `mlv run` again",
    ]
    assert not (project / "o.txt").exists() and not (project / "mlv.lock").exists()


def test_a_torn_marker_counts_as_an_interrupted_run_whose_outputs_may_be_replaced(
    project: Path, mlv: MlvRunner
) -> None:
    assert mlv("stage", "add", "s", "-o", "o.txt", "--", "echo ran > o.txt").code == 0
    assert mlv("run").code == 0
    write(project / "o.txt", "half written by a killed run\n")
    refused = mlv("run")
    assert refused.code == 1 and "output(s) changed since the stage last ran" in refused.err
    write(project / ".mlv/tmp/running-s", '{"boot": "')  # killed while writing its marker
    result = mlv("run")
    assert result.code == 0, result.err
    assert (project / "o.txt").read_text() == "ran\n"
    assert not (project / ".mlv/tmp/running-s").exists()
