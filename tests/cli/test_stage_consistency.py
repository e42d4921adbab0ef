"""Snapshot, run, dry run, status and reproduce agree about stages (issue 16, defect 4).

A snapshot is internally consistent: each stage record matches the artifacts it records or is
marked stale in mlv.lock, and the snapshot says so. Every hint about stages leads to a command
that works, and `mlv run --dry-run` decides as `mlv run` does, refusals included.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import MlvRunner, Result, git, write

PY = shlex.quote(sys.executable)
UPPER = "import pathlib; pathlib.Path('out.txt').write_text(open('in.txt').read().upper())\n"
COUNT = """\
import json
text = open("out.txt").read()
open("count.txt", "w").write(str(len(text)))
json.dump({"n": len(text)}, open("n.json", "w"))
"""


@pytest.fixture
def stages(project: Path, mlv: MlvRunner) -> Path:
    """Two stages, run and snapshotted: upper (in.txt -> out.txt), count (out.txt -> count.txt
    and the metrics file n.json)."""
    write(project / "in.txt", "hello\n")
    write(project / "upper.py", UPPER)
    write(project / "count.py", COUNT)
    git(project, "add", "in.txt", "upper.py", "count.py")
    git(project, "commit", "-qm", "input and code")
    upper = mlv("stage", "add", "upper", "-d", "in.txt", "-o", "out.txt", "--", f"{PY} upper.py")
    assert upper.code == 0, upper.err
    added = mlv("stage", "add", "count", "-d", "out.txt", "-o", "count.txt", "-M", "n.json",
                "--", f"{PY} count.py")  # fmt: skip
    assert added.code == 0, added.err
    ran = mlv("run")
    assert ran.code == 0, ran.err
    assert mlv("snapshot", "-m", "first run").code == 0
    return project


def lock(root: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((root / "mlv.lock").read_text())


def contradictions(root: Path) -> list[str]:
    """Stage records of mlv.lock, not marked stale, whose ids differ from its artifact records."""
    doc = lock(root)
    found = []
    for name, record in doc["stages"].items():
        if "stale" in record:
            continue
        for path, oid in {**record["deps"], **record["outs"]}.items():
            artifact = doc["artifacts"].get(path)
            if artifact is not None and artifact["id"] != oid:
                found.append(f"{name}: {path}")
    return found


def hinted_commands(text: str) -> list[str]:
    """The mlv commands a message suggests, in backticks."""
    return re.findall(r"`(mlv [^`]+)`", text)


def follow(mlv: MlvRunner, command: str) -> Result:
    return mlv(*shlex.split(command)[1:])


def error_lines(result: Result) -> list[str]:
    return [line for line in result.err.splitlines() if line.startswith(("error:", "hint:"))]


def test_snapshot_marks_a_stage_whose_output_was_edited_by_hand(
    stages: Path, mlv: MlvRunner
) -> None:
    write(stages / "out.txt", "edited by hand\n")
    shot = mlv("snapshot", "-m", "keep the edit", "--json")
    assert shot.code == 0, shot.err
    report = {s["name"]: s for s in json.loads(shot.out)["stages"]}
    assert report["upper"]["marked_stale"] == ["output changed: out.txt"]
    # count read the output upper wrote, not the edit the snapshot records.
    assert report["count"]["marked_stale"] == ["dependency changed: out.txt"]

    doc = lock(stages)
    assert doc["stages"]["upper"]["stale"] == ["output changed: out.txt"]
    assert doc["stages"]["count"]["stale"] == ["dependency changed: out.txt"]
    assert doc["schema"] == 3  # names its writer, and can say so
    assert contradictions(stages) == []
    assert git(stages, "status", "--porcelain", "mlv.lock") == ""  # committed as it is

    status = mlv("status")
    assert "stage upper: stale (output changed: out.txt), marked so in mlv.lock" in status.out
    assert mlv("status", "--check").code == 1  # as the snapshot said

    # What the snapshot said to do works: run replaces the kept output, which HEAD holds.
    ran = mlv("run")
    assert ran.code == 0, ran.err
    assert (stages / "out.txt").read_text() == "HELLO\n"
    assert mlv("status", "--check").code == 0
    assert mlv("snapshot", "-m", "rerun").code == 0
    assert contradictions(stages) == [] and lock(stages)["schema"] == 3
    assert all("stale" not in r for r in lock(stages)["stages"].values())
    assert mlv("checkout", "HEAD~1", "--force").code == 0
    assert (stages / "out.txt").read_text() == "edited by hand\n"  # the kept edit is there


def test_snapshot_says_which_stages_it_marked_and_why(stages: Path, mlv: MlvRunner) -> None:
    write(stages / "out.txt", "edited by hand\n")
    shot = mlv("snapshot", "-m", "keep the edit")
    assert shot.code == 0, shot.err
    assert "stage upper: marked stale in mlv.lock (output changed: out.txt)" in shot.out
    assert "stage count: marked stale in mlv.lock (dependency changed: out.txt)" in shot.out
    assert "`mlv run` re-runs it" in shot.out
    ran = mlv("run")
    assert ran.code == 0, ran.err


@pytest.mark.parametrize("way", ["mlv snapshot", "mlv checkout", "mlv run --force"])
def test_each_hint_of_the_refusal_leads_to_a_run_that_works(
    stages: Path, mlv: MlvRunner, way: str
) -> None:
    write(stages / "out.txt", "edited by hand\n")
    refused = mlv("run")
    assert refused.code == 1
    assert "output(s) changed since the stage last ran: out.txt" in refused.err
    hint = refused.err.split("hint:", 1)[1]
    suggested = [c for c in hinted_commands(hint) if c.startswith(way)]
    assert len(suggested) == 1, hint
    followed = follow(mlv, suggested[0])
    assert followed.code == 0, followed.err
    again = mlv("run")
    assert again.code == 0, again.err
    assert mlv("status", "--check").code == 0
    assert contradictions(stages) == []


def test_status_says_what_run_would_refuse(stages: Path, mlv: MlvRunner) -> None:
    write(stages / "out.txt", "edited by hand\n")
    refused = mlv("run")
    status = mlv("status")
    assert f"`mlv run` refuses: {refused.err.splitlines()[0].removeprefix('error: ')}" in (
        status.out
    )
    assert "Next: `mlv snapshot` records the changed artifacts" in status.out
    assert "`mlv run` runs the stale stages" not in status.out  # it would not
    report = {s["name"]: s for s in json.loads(mlv("status", "--json").out)["stages"]}
    assert report["upper"]["run_refuses"]["hint"] == refused.err.split("hint: ", 1)[1].strip()
    assert report["count"]["run_refuses"] is None


def test_snapshot_with_a_marked_stage_passes_the_pre_commit_hook(
    stages: Path, mlv: MlvRunner
) -> None:
    assert mlv("hooks", "install").code == 0
    write(stages / "out.txt", "edited by hand\n")
    shot = mlv("snapshot", "-m", "keep the edit")
    assert shot.code == 0, shot.err
    assert git(stages, "log", "-1", "--format=%s") == "keep the edit"
    assert mlv("run").code == 0
    assert mlv("snapshot", "-m", "rerun").code == 0
    # A stale stage that the lock does not mark still stops a plain commit.
    write(stages / "in.txt", "changed\n")
    refused = subprocess.run(
        ["git", "commit", "-qam", "input only"], cwd=stages, capture_output=True, text=True
    )
    assert refused.returncode == 1
    assert "stage upper (dependency changed: in.txt)" in refused.stderr


@pytest.fixture
def orphan() -> Iterator[int]:
    """A live process group, standing for a stage that a killed `mlv run` left running."""
    proc = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        yield proc.pid
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _same_verdict(mlv: MlvRunner, *flags: str) -> tuple[Result, Result]:
    dry = mlv("run", "--dry-run", *flags)
    real = mlv("run", *flags)
    assert dry.code == real.code, (dry, real)
    assert error_lines(dry) == error_lines(real)
    would = re.findall(r"^(\S+): would run \((.*)\)$", dry.out, re.M)
    ran = re.findall(r"^running (\S+) \((.*)\)$", real.err, re.M)
    # The first stage to run, for the same reasons. A later one is judged again once those
    # before it ran (an upstream stage that rewrote identical outputs leaves it up to date),
    # which a dry run cannot know: it says such a stage would run, because of its upstream.
    assert ran[:1] == would[:1]
    assert {name for name, _ in ran} <= {name for name, _ in would}
    return dry, real


def test_dry_run_refuses_outputs_edited_by_hand_as_run_does(stages: Path, mlv: MlvRunner) -> None:
    write(stages / "count.txt", "99")
    dry, _ = _same_verdict(mlv)
    assert dry.code == 1 and "count.txt; running it would replace them" in dry.err
    dry, _ = _same_verdict(mlv, "--force")
    assert dry.code == 0 and "count: would run (output changed: count.txt)" in dry.out


def test_dry_run_refuses_a_stage_still_running_as_run_does(
    stages: Path, mlv: MlvRunner, orphan: int
) -> None:
    marker = {"boot": _boot_id(), "group": orphan}
    write(stages / ".mlv/tmp/running-upper", json.dumps(marker))
    dry, _ = _same_verdict(mlv)
    assert dry.code == 1 and f"still running (process group {orphan})" in dry.err
    status = mlv("status")
    refuses = "`mlv run` refuses: stage upper of an interrupted `mlv run` is still running"
    assert refuses in status.out
    os.killpg(orphan, signal.SIGKILL)  # what the hint says to do
    os.waitpid(orphan, 0)  # reaped: the group is gone
    dry, real = _same_verdict(mlv)
    assert real.code == 0


def test_dry_run_refuses_a_missing_dependency_as_run_does(stages: Path, mlv: MlvRunner) -> None:
    (stages / "in.txt").unlink()
    dry, _ = _same_verdict(mlv)
    assert dry.code == 2 and "dependency in.txt does not exist" in dry.err
    # A dependency that an upstream stage writes is no refusal: that stage makes it first.
    (stages / "out.txt").unlink()
    git(stages, "checkout", "--", "in.txt")
    dry, real = _same_verdict(mlv)
    assert real.code == 0 and (stages / "count.txt").exists()


def test_dry_run_after_keeping_edited_outputs_says_what_run_does(
    stages: Path, mlv: MlvRunner
) -> None:
    write(stages / "out.txt", "edited by hand\n")
    assert mlv("snapshot", "-m", "keep").code == 0
    dry, real = _same_verdict(mlv)
    assert real.code == 0 and "upper: would run (output changed: out.txt)" in dry.out


def test_snapshot_after_a_dependency_changed_without_a_run(stages: Path, mlv: MlvRunner) -> None:
    write(stages / "in.txt", "changed\n")
    shot = mlv("snapshot", "-m", "input changed, not run", "--json")
    assert shot.code == 0, shot.err
    assert lock(stages)["stages"]["upper"]["stale"] == ["dependency changed: in.txt"]
    report = {s["name"]: s for s in json.loads(shot.out)["stages"]}
    assert report["upper"]["marked_stale"] == ["dependency changed: in.txt"]
    # count's record still matches what the snapshot records: stale through upper only.
    assert report["count"]["marked_stale"] == []
    assert report["count"]["reasons"] == ["upstream stage upper is stale"]
    assert "stale" not in lock(stages)["stages"]["count"]
    assert contradictions(stages) == []

    reproduced = mlv("reproduce", "--json")
    assert reproduced.code == 1  # the committed output is not what the committed input makes
    first = json.loads(reproduced.out)["stages"][0]
    assert first["marked_stale"] == ["dependency changed: in.txt"]

    _same_verdict(mlv)
    assert (stages / "out.txt").read_text() == "CHANGED\n"
    assert mlv("snapshot", "-m", "run").code == 0
    assert mlv("status", "--check").code == 0
    assert mlv("reproduce").code == 0


def test_reproduce_does_not_pass_a_snapshot_of_an_edited_output(
    stages: Path, mlv: MlvRunner
) -> None:
    write(stages / "n.json", json.dumps({"n": 999}))
    assert mlv("snapshot", "-m", "edited metrics").code == 0
    # The stage re-makes what it made before; the snapshot holds the edit: not reproduced,
    # and no tolerance excuses an output the stage never wrote.
    result = mlv("reproduce", "--json", "--tolerance", "n=10000")
    assert result.code == 1, result.out
    assert lock(stages)["stages"]["count"]["stale"] == ["output changed: n.json"]
    count = {s["name"]: s for s in json.loads(result.out)["stages"]}["count"]
    verdicts = {o["path"]: o["verdict"] for o in count["outputs"]}
    assert verdicts == {"count.txt": "identical", "n.json": "differs"}
    assert count["marked_stale"] == ["output changed: n.json"]
    human = mlv("reproduce")
    assert human.code == 1 and "stage count was marked stale in HEAD" in human.out


def test_snapshot_drops_the_record_of_a_stage_no_longer_declared(
    stages: Path, mlv: MlvRunner
) -> None:
    toml = stages / "mlv.toml"
    text = toml.read_text()
    start = text.index("[stages.count]")
    toml.write_text(text[:start])  # count is the last table
    assert "count" not in mlv("stage", "list").out
    shot = mlv("snapshot", "-m", "without count", "--json")
    assert shot.code == 0, shot.err
    assert set(lock(stages)["stages"]) == {"upper"}
    assert json.loads(shot.out)["dropped_stages"] == ["count"]
    assert mlv("status", "--check").code == 0
    assert mlv("run").code == 0 and "0 stage(s) ran, 1 up to date" in mlv("run").out
    result = mlv("reproduce", "--json")
    assert result.code == 0, result.out
    assert [s["name"] for s in json.loads(result.out)["stages"]] == ["upper"]


def test_snapshot_of_a_stage_that_never_ran(stages: Path, mlv: MlvRunner) -> None:
    late = f"{PY} -c \"open('late.txt', 'w').write('late')\""
    assert mlv("stage", "add", "late", "-d", "in.txt", "-o", "late.txt", "--", late).code == 0
    refused = mlv("snapshot", "-m", "late")
    assert refused.code == 2 and "tracked path late.txt does not exist" in refused.err
    hint = refused.err.split("hint:", 1)[1]
    assert "mlv checkout" not in hint  # nothing recorded to restore
    (suggested,) = [c for c in hinted_commands(hint) if c.startswith("mlv run")]
    assert follow(mlv, suggested).code == 0
    assert mlv("snapshot", "-m", "late").code == 0
    assert mlv("status", "--check").code == 0

    # Declared over a file that exists, never run: the snapshot says so.
    write(stages / "early.txt", "made by hand")
    early = f"{PY} -c \"open('early.txt', 'w').write('early')\""
    assert mlv("stage", "add", "early", "-d", "in.txt", "-o", "early.txt", "--", early).code == 0
    shot = mlv("snapshot", "-m", "early", "--json")
    report = {s["name"]: s for s in json.loads(shot.out)["stages"]}
    assert report["early"] == {
        "name": "early",
        "stale": True,
        "marked_stale": [],
        "reasons": ["never ran"],
    }
    again = mlv("snapshot", "--no-commit")
    assert "stage early: stale (never ran); `mlv run` runs it" in again.out
    _same_verdict(mlv)
    assert (stages / "early.txt").read_text() == "early"


def test_run_clears_a_mark_once_the_outputs_are_put_back(stages: Path, mlv: MlvRunner) -> None:
    """A snapshot marked a hand-edited stage stale; the edit is then undone by hand. `mlv run`
    finds the stage up to date and must not leave the mark behind: mlv.lock, status and run
    agree again (no mark, no contradiction, status --check clean)."""
    original = (stages / "out.txt").read_text()
    write(stages / "out.txt", "EDITED\n")
    assert mlv("snapshot", "-m", "kept edit").code == 0
    assert lock(stages)["stages"]["upper"].get("stale")
    write(stages / "out.txt", original)  # put back as the stage wrote it
    ran = mlv("run")
    assert ran.code == 0, ran.err
    doc = lock(stages)
    assert "stale" not in doc["stages"]["upper"] and "stale" not in doc["stages"]["count"]
    assert doc["schema"] == 3
    assert contradictions(stages) == []
    check = mlv("status", "--check")
    assert check.code == 0, check.out + check.err
