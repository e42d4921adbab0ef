"""`mlv status` when a tracked path changed type, or mlv.toml stopped declaring a recorded one."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import MlvRunner, write


def states(mlv: MlvRunner) -> dict[str, str]:
    result = mlv("status", "--json")
    assert result.code == 0, result.err
    return {a["path"]: a["state"] for a in json.loads(result.out)["artifacts"]}


def test_a_file_replaced_by_a_directory_is_modified(project: Path, mlv: MlvRunner) -> None:
    write(project / "m.bin", "weights\n")
    assert mlv("track", "m.bin").code == 0
    assert mlv("snapshot", "-m", "m").code == 0
    (project / "m.bin").unlink()
    write(project / "m.bin/part-0", "weights\n")
    assert states(mlv) == {"m.bin": "modified"}
    checked = mlv("status", "--check")
    assert checked.code == 1


def test_a_recorded_path_mlv_toml_no_longer_declares_is_no_longer_tracked(
    project: Path, mlv: MlvRunner
) -> None:
    write(project / "a.csv", "1\n")
    write(project / "b.csv", "2\n")
    assert mlv("track", "a.csv", "b.csv").code == 0
    assert mlv("snapshot", "-m", "a and b").code == 0
    toml = (project / "mlv.toml").read_text()
    (project / "mlv.toml").write_text(toml.replace('[artifacts."b.csv"]\nkind = "data"\n', ""))
    assert states(mlv) == {"a.csv": "unchanged", "b.csv": "no longer tracked"}
    assert (project / "b.csv").read_text() == "2\n"
