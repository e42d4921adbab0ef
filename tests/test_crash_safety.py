"""Crash safety: mlv SIGKILLed at each durable step of snapshot, checkout, run, push, pull and gc.

After every kill: the store holds no object whose bytes differ from its id, mlv.lock is the old
or the new version (never a part), no work-tree content is lost, and running the command again
completes the work, ending exactly where an uninterrupted run ends.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import MlvRunner, git, make_repo, write
from tests.crash import (
    assert_nothing_lost,
    assert_store_consistent,
    clone_dir,
    marks_where,
    run_mlv,
    store_objects,
    sweep,
    workspace_files,
)

CACHE = ".mlv/cache"


def blob(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


@pytest.fixture
def template(tmp_path: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmpl/repo: an mlv project with a first snapshot of a directory and a model file, then
    changed (a file edited, one added, one deleted, a large file replaced), not yet snapshotted.
    A directory remote ``origin`` at tmpl/remote (relative URL, so each copy has its own)."""
    folder = tmp_path / "tmpl"
    repo = make_repo(folder / "repo")
    monkeypatch.chdir(repo)
    assert mlv("init").code == 0
    for i in range(4):
        write(repo / f"data/part-{i}.csv", f"id,value\n{i},{i * i}\n")
    write(repo / "data/big.bin", blob(1, 1536 * 1024))  # above the small-file limit
    write(repo / "models/model.bin", blob(2, 4096))
    assert mlv("track", "data").code == 0
    assert mlv("track", "models/model.bin", "--kind", "model").code == 0
    assert mlv("remote", "add", "origin", "../remote", "--default").code == 0
    assert mlv("snapshot", "-m", "first").code == 0
    write(repo / "data/part-0.csv", "id,value\n0,-1\n")
    write(repo / "data/part-9.csv", "id,value\n9,81\n")
    (repo / "data/part-1.csv").unlink()
    write(repo / "data/big.bin", blob(3, 1536 * 1024))
    write(repo / "models/model.bin", blob(4, 8192))
    return folder


def reference_run(template: Path, scratch: Path, *args: str) -> Path:
    """The same command, uninterrupted, in a copy: where every interrupted run must end."""
    work = clone_dir(template, scratch / "reference") / "repo"
    done = run_mlv(work, *args)
    assert done.returncode == 0, done.stderr
    return work


def commits(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "HEAD"))


def check_snapshot_sweep(
    template: Path, tmp_path: Path, pick: Callable[[list[str]], list[int]] | None = None
) -> None:
    args = ("snapshot", "-m", "second")
    repo = template / "repo"
    old_lock = (repo / "mlv.lock").read_bytes()
    before = workspace_files(repo)
    reference = reference_run(template, tmp_path, *args)
    new_lock = (reference / "mlv.lock").read_bytes()
    assert new_lock != old_lock
    for killed in sweep(template, tmp_path, "repo", *args, pick=pick):
        work = killed.work
        assert_store_consistent(work / CACHE)
        assert (work / "mlv.lock").read_bytes() in (old_lock, new_lock), killed.point
        assert run_mlv(work, "verify").returncode == 0, killed.point  # the lock's objects exist
        assert workspace_files(work) | {"mlv.lock": b""} == before | {"mlv.lock": b""}
        again = run_mlv(work, *args)
        assert again.returncode == 0, (killed.point, again.stderr)
        assert (work / "mlv.lock").read_bytes() == new_lock
        assert commits(work) == commits(reference)  # one snapshot commit, not two
        assert git(work, "status", "--porcelain") == ""
        assert run_mlv(work, "verify").returncode == 0


@pytest.mark.slow
def test_snapshot(template: Path, tmp_path: Path) -> None:
    check_snapshot_sweep(template, tmp_path)


def test_snapshot_at_its_decisive_kill_points(template: Path, tmp_path: Path) -> None:
    """The fast subset (`make unit`): killed halfway through the last write of the pack that
    holds the new objects (the large file among them), halfway through writing its index,
    halfway through writing mlv.lock, and just before the commit."""

    def decisive(marks: list[str]) -> list[int]:
        writes = [m for m in marks if " write " in m]
        chosen = [
            marks_where(writes, "/tmp/.pack.")[-1],
            *marks_where(writes, ".idx."),
            *marks_where(writes, "mlv.lock"),
            *marks_where(marks, "git commit"),
        ]
        assert len(chosen) == 4, marks
        return chosen

    check_snapshot_sweep(template, tmp_path, decisive)


@pytest.mark.slow
def test_checkout(template: Path, tmp_path: Path) -> None:
    repo = template / "repo"
    assert run_mlv(repo, "snapshot", "-m", "second").returncode == 0
    lock = (repo / "mlv.lock").read_bytes()
    before = workspace_files(repo)
    args = ("checkout", "HEAD~1")
    expected = workspace_files(reference_run(template, tmp_path, *args))
    assert expected != before
    for killed in sweep(template, tmp_path, "repo", *args):
        work = killed.work
        assert_store_consistent(work / CACHE)
        assert (work / "mlv.lock").read_bytes() == lock
        assert_nothing_lost(before, work, work / CACHE)
        assert run_mlv(work, "verify").returncode == 0, killed.point
        for path, content in workspace_files(work).items():  # each file whole: old or new
            assert content in (before.get(path), expected.get(path)), (killed.point, path)
        again = run_mlv(work, *args)
        assert again.returncode == 0, (killed.point, again.stderr)
        assert workspace_files(work) == expected


PREPARE = (
    "import pathlib; rows = pathlib.Path('data/raw.csv').read_text().splitlines()[1:]; "
    "pathlib.Path('features').mkdir(exist_ok=True); "
    "[pathlib.Path(f'features/{i}.txt').write_text(r[::-1]) for i, r in enumerate(rows)]"
)
TRAIN = (
    "import pathlib, json; n = len(list(pathlib.Path('features').iterdir())); "
    "pathlib.Path('models').mkdir(exist_ok=True); "
    "pathlib.Path('models/model.bin').write_bytes(bytes(range(256)) * 8000 * n); "
    "pathlib.Path('metrics.json').write_text(json.dumps({'n': n}))"
)


def wait_for_orphans(work: Path) -> None:
    for marker in (work / ".mlv/tmp").glob("running-*"):
        group = json.loads(marker.read_text()).get("group", 0)
        while group > 0:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                break
            time.sleep(0.02)


@pytest.mark.slow
def test_run(tmp_path: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "tmpl"
    repo = make_repo(folder / "repo")
    monkeypatch.chdir(repo)
    assert mlv("init").code == 0
    write(repo / "data/raw.csv", "x\n" + "".join(f"row{i}\n" for i in range(5)))
    assert mlv("track", "data/raw.csv").code == 0
    stage = ["stage", "add"]
    assert mlv(*stage, "prepare", "-d", "data/raw.csv", "-o", "features", "--", "python", "-c",
               PREPARE).code == 0  # fmt: skip
    assert mlv(*stage, "train", "-d", "features", "-o", "models/model.bin", "-M", "metrics.json",
               "--", "python", "-c", TRAIN).code == 0  # fmt: skip
    assert mlv("run").code == 0
    assert mlv("snapshot", "-m", "first run").code == 0
    old_lock = (repo / "mlv.lock").read_bytes()
    write(repo / "data/raw.csv", "x\n" + "".join(f"row{i}\n" for i in range(7)))  # both re-run
    before = workspace_files(repo)
    reference = reference_run(folder, tmp_path, "run")
    expected = workspace_files(reference)
    expected_outs = {
        name: record["outs"]
        for name, record in json.loads((reference / "mlv.lock").read_bytes())["stages"].items()
    }
    for killed in sweep(folder, tmp_path, "repo", "run"):
        work = killed.work
        assert_store_consistent(work / CACHE)
        lock = (work / "mlv.lock").read_bytes()
        if lock != old_lock:  # a stage finished: the new lock is whole, its objects stored
            assert run_mlv(work, "verify").returncode == 0, killed.point
        assert_nothing_lost(before, work, work / CACHE)
        wait_for_orphans(work)  # a stage the killed mlv had started runs on; let it finish
        again = run_mlv(work, "run")
        assert again.returncode == 0, (killed.point, again.stderr)
        assert workspace_files(work) | {"mlv.lock": b""} == expected | {"mlv.lock": b""}
        stages = json.loads((work / "mlv.lock").read_bytes())["stages"]
        assert {name: record["outs"] for name, record in stages.items()} == expected_outs
        status = json.loads(run_mlv(work, "status", "--json").stdout)
        assert status == json.loads(run_mlv(reference, "status", "--json").stdout)


@pytest.mark.slow
def test_push_then_pull(template: Path, tmp_path: Path) -> None:
    repo = template / "repo"
    assert run_mlv(repo, "snapshot", "-m", "second").returncode == 0
    reference = reference_run(template, tmp_path / "push", "push")
    expected_remote = set(store_objects(reference.parent / "remote"))
    for killed in sweep(template, tmp_path / "push", "repo", "push"):
        remote = killed.work.parent / "remote"
        assert_store_consistent(remote)
        again = run_mlv(killed.work, "push")
        assert again.returncode == 0, (killed.point, again.stderr)
        assert set(store_objects(remote)) == expected_remote
        assert run_mlv(killed.work, "verify", "--remote", "origin").returncode == 0

    # Pull into a fresh clone that has the commits but no objects.
    assert run_mlv(repo, "push").returncode == 0
    git(template, "clone", "-q", str(repo), "clone")
    expected = workspace_files(repo)
    for killed in sweep(template, tmp_path / "pull", "clone", "pull"):
        work = killed.work
        assert_store_consistent(work / CACHE)
        for path, content in workspace_files(work).items():
            assert content == expected[path], (killed.point, path)  # whole files only
        again = run_mlv(work, "pull")
        assert again.returncode == 0, (killed.point, again.stderr)
        assert workspace_files(work) == expected


@pytest.mark.slow
def test_gc(template: Path, tmp_path: Path) -> None:
    # The default keeps all history, so the first snapshot's objects are not garbage: the
    # narrowest scope, forced, is what removes them (none is on the remote).
    args = ("gc", "--workspace", "--force")
    repo = template / "repo"
    assert run_mlv(repo, "snapshot", "-m", "second").returncode == 0
    before = workspace_files(repo)
    reference = reference_run(template, tmp_path, *args)
    kept = set(store_objects(reference / CACHE))
    assert kept < set(store_objects(repo / CACHE))  # the first snapshot's objects went
    for killed in sweep(template, tmp_path, "repo", *args):
        work = killed.work
        objects = assert_store_consistent(work / CACHE)
        assert kept <= set(objects), killed.point  # nothing still needed was deleted
        assert workspace_files(work) == before
        assert run_mlv(work, "verify").returncode == 0
        again = run_mlv(work, *args)
        assert again.returncode == 0, (killed.point, again.stderr)
        assert set(store_objects(work / CACHE)) == kept


@pytest.mark.slow
def test_sweep_reaches_deep_into_the_command(template: Path, tmp_path: Path) -> None:
    """The marks cover the writes that matter: without them the sweeps above test little."""
    from tests.crash import count_marks

    marks = count_marks(template, tmp_path, "repo", "snapshot", "-m", "second")
    labels = " ".join(marks)
    assert "mlv.lock" in labels and "git commit" in labels
    assert sum(" write " in f" {m} " for m in marks) >= 5  # the changed objects, then the lock


@pytest.mark.slow
def test_run_killed_during_a_stage_waits_for_the_orphan(
    tmp_path: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL of mlv cannot stop the stage it started; the re-run says so instead of racing
    the orphan on its outputs, and completes once it is gone."""
    repo = make_repo(tmp_path / "repo")
    monkeypatch.chdir(repo)
    assert mlv("init").code == 0
    write(repo / "in.txt", "x\n")
    assert mlv("track", "in.txt").code == 0
    slow = (
        "import pathlib, time; pathlib.Path('started').write_text('1'); "
        "time.sleep(60); pathlib.Path('out.txt').write_text('done')"
    )
    assert mlv("stage", "add", "slow", "-d", "in.txt", "-o", "out.txt", "--", "python", "-c",
               slow).code == 0  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "mlv", "run"], cwd=repo)
    deadline = time.monotonic() + 30
    while not (repo / "started").exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    again = run_mlv(repo, "run")
    assert again.returncode == 1, again.stderr
    assert "stage slow of an interrupted `mlv run` is still running" in again.stderr
    group = int(again.stderr.split("process group ")[1].split(")")[0])
    os.killpg(group, signal.SIGKILL)
    wait_for_orphans(repo)
    (repo / "started").unlink()
    slow_done = slow.replace("time.sleep(60)", "time.sleep(0)")
    fast = run_mlv(repo, "stage", "add", "slow", "--force", "-d", "in.txt", "-o", "out.txt", "--",
                   "python", "-c", slow_done)  # fmt: skip
    assert fast.returncode == 0, fast.stderr
    done = run_mlv(repo, "run")
    assert done.returncode == 0, done.stderr
    assert (repo / "out.txt").read_text() == "done"
