"""Crash safety of ``mlv gc --remote``: SIGKILLed at each durable step (lock, upload of the new
pack and its index, deletion of each old index and pack), the remote still indexes every live
object (a reader at that instant loses nothing: this is what fails if gc deleted before its copy
was indexed, or a pack before its index), and a re-run completes to the uninterrupted result."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import MlvRunner, make_repo
from tests.core.remote.remote_gc_setup import age, half_dead_remote
from tests.crash import assert_store_consistent, clone_dir, run_mlv, store_objects, sweep

ARGS = ("gc", "--remote")


@pytest.fixture
def template(tmp_path: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "tmpl"
    repo = make_repo(folder / "repo")
    monkeypatch.chdir(repo)
    assert mlv("init").code == 0
    half_dead_remote(repo, mlv, "../remote")
    age(folder / "remote")
    return folder


@pytest.mark.slow
def test_gc_remote(template: Path, tmp_path: Path) -> None:
    remote_before = set(store_objects(template / "remote"))
    reference = clone_dir(template, tmp_path / "reference") / "repo"
    done = run_mlv(reference, *ARGS)
    assert done.returncode == 0, done.stderr
    live = set(store_objects(reference.parent / "remote"))
    assert live < remote_before  # half the objects went
    for killed in sweep(template, tmp_path, "repo", *ARGS):
        remote = killed.work.parent / "remote"
        objects = set(assert_store_consistent(remote))  # also: no index without its pack
        assert live <= objects, killed.point  # every live object still indexed
        again = run_mlv(killed.work, *ARGS)
        assert again.returncode == 0, (killed.point, again.stderr)
        assert set(store_objects(remote)) == live, killed.point
        assert not (remote / "gc.lock").exists()
        assert run_mlv(killed.work, "verify", "--remote", "origin").returncode == 0
