"""pull's options reach the fetch and the checkout it runs: -r picks the remote, --force alone
lets the checkout replace unsaved work, and the JSON counts what was moved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_remote import clone, remote_objects, snapshot_with_remote
from tests.conftest import MlvRunner, git, write
from tests.crash import packed_entries


def pushed_to_second_remote(project: Path, mlv: MlvRunner, tmp_path: Path) -> Path:
    """origin (the default) stays empty; the data is only on `backup`."""
    snapshot_with_remote(project, mlv, str(tmp_path / "origin"), "--default")
    assert mlv("remote", "add", "backup", str(tmp_path / "backup")).code == 0
    git(project, "commit", "-qam", "declare the backup remote")
    assert mlv("push", "-r", "backup").code == 0
    return tmp_path / "backup"


def test_pull_from_the_remote_named_with_r(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup = pushed_to_second_remote(project, mlv, tmp_path)
    other = clone(project, tmp_path / "c", monkeypatch)
    assert mlv("pull").code == 1  # the default remote has none of it
    result = mlv("pull", "-r", "backup", "--json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    objects = remote_objects(backup)
    assert doc["remote"] == "backup"
    assert doc["transferred"] == len(objects)
    assert doc["packs"] == len(list((backup / "packs").glob("*.idx"))) >= 1
    assert doc["bytes"] == sum(entry[3] for entry in packed_entries(backup))  # objects' sizes
    assert (other / "models/m.pkl").read_bytes() == (project / "models/m.pkl").read_bytes()


def test_pull_replaces_unsaved_work_only_with_force(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pushed_to_second_remote(project, mlv, tmp_path)
    other = clone(project, tmp_path / "c", monkeypatch)
    write(other / "models/m.pkl", "my unsaved model\n")
    refused = mlv("pull", "-r", "backup")
    assert refused.code == 1
    assert (other / "models/m.pkl").read_text() == "my unsaved model\n"
    assert mlv("pull", "-r", "backup", "--force").code == 0
    assert (other / "models/m.pkl").read_bytes() == (project / "models/m.pkl").read_bytes()
