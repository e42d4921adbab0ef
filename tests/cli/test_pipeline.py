"""Pipelines through the CLI: stage declarations, mlv run, lineage, and mlv reproduce."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import MlvRunner, git, tree_snapshot, write

PY = shlex.quote(sys.executable)

GEN = """\
import json, random, pathlib
p = json.load(open("params.json"))
rng = random.Random(p["seed"])
pathlib.Path("data").mkdir(exist_ok=True)
with open("data/raw.csv", "w") as f:
    for i in range(200):
        f.write(f"{i},{rng.random():.6f}\\n")
"""
FEAT = """\
import pathlib
rows = [line.split(",") for line in open("data/raw.csv")]
pathlib.Path("data/features").mkdir(parents=True, exist_ok=True)
with open("data/features/feat.csv", "w") as f:
    for i, x in rows:
        f.write(f"{i},{float(x) * 2:.6f}\\n")
"""
TRAIN = """\
import json, os, pathlib
p = json.load(open("params.json"))
xs = [float(line.split(",")[1]) for line in open("data/features/feat.csv")]
weight = sum(xs) / len(xs) * p["lr"]
pathlib.Path("models").mkdir(exist_ok=True)
pathlib.Path("models/model.txt").write_text(f"weight={weight:.8f}\\n")
noise = float(os.environ.get("MLV_TEST_NOISE", "0"))
json.dump({"accuracy": round(0.9 + noise, 6), "n": len(xs)}, open("metrics.json", "w"))
"""
RANDOM = """\
import os, pathlib
pathlib.Path("scratch").mkdir(exist_ok=True)
pathlib.Path("scratch/noise.bin").write_bytes(os.urandom(64))
"""


def setup_pipeline(root: Path, mlv: MlvRunner) -> None:
    write(root / "gen.py", GEN)
    write(root / "feat.py", FEAT)
    write(root / "train.py", TRAIN)
    write(root / "params.json", json.dumps({"seed": 1, "lr": 0.5}))
    git(root, "add", "gen.py", "feat.py", "train.py", "params.json")
    git(root, "commit", "-qm", "pipeline code")
    steps = [
        [
            "stage",
            "add",
            "gen",
            "-d",
            "gen.py",
            "-p",
            "params.json:seed",
            "-o",
            "data/raw.csv",
            "--",
            f"{PY} gen.py",
        ],
        [
            "stage",
            "add",
            "feat",
            "-d",
            "feat.py",
            "-d",
            "data/raw.csv",
            "-o",
            "data/features",
            "--",
            f"{PY} feat.py",
        ],
        [
            "stage",
            "add",
            "train",
            "-d",
            "train.py",
            "-d",
            "data/features",
            "-p",
            "params.json:lr",
            "-o",
            "models/model.txt",
            "-M",
            "metrics.json",
            "--",
            f"{PY} train.py",
        ],
    ]
    for args in steps:
        result = mlv(*args)
        assert result.code == 0, result.err


@pytest.fixture
def pipeline(project: Path, mlv: MlvRunner) -> Path:
    setup_pipeline(project, mlv)
    result = mlv("run")
    assert result.code == 0, result.err
    assert mlv("snapshot", "-m", "run 1").code == 0
    return project


def lock(root: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((root / "mlv.lock").read_text())


def test_run_records_stages_and_reruns_only_what_changed(pipeline: Path, mlv: MlvRunner) -> None:
    record = lock(pipeline)["stages"]
    assert set(record) == {"gen", "feat", "train"}
    train = record["train"]
    assert train["params"] == {"params.json:lr": 0.5}
    assert train["metrics"] == {"metrics.json:accuracy": 0.9, "metrics.json:n": 200}
    assert set(train["outs"]) == {"models/model.txt", "metrics.json"}
    assert train["exit_status"] == 0 and train["env_fingerprint"].startswith("xxh128:")
    assert "data/features" in lock(pipeline)["artifacts"]
    assert git(pipeline, "check-ignore", "models/model.txt") == "models/model.txt"

    again = mlv("run")
    assert again.code == 0 and "0 stage(s) ran, 3 up to date" in again.out

    write(pipeline / "params.json", json.dumps({"seed": 1, "lr": 0.25}))
    dry = mlv("run", "--dry-run")
    assert "train: would run (param changed: params.json:lr)" in dry.out
    assert "gen: up to date" in dry.out
    assert mlv("status", "--check").code == 1
    result = mlv("run")
    assert result.code == 0 and "1 stage(s) ran, 2 up to date" in result.out
    assert lock(pipeline)["stages"]["train"]["params"] == {"params.json:lr": 0.25}
    assert mlv("snapshot", "-m", "run 2").code == 0
    assert mlv("status", "--check").code == 0

    write(pipeline / "params.json", json.dumps({"seed": 2, "lr": 0.25}))
    result = mlv("run", "--dry-run")
    assert "gen: would run" in result.out and "feat: would run" in result.out


def test_reproduce_previous_snapshot_leaves_workspace_untouched(
    pipeline: Path, mlv: MlvRunner
) -> None:
    write(pipeline / "params.json", json.dumps({"seed": 1, "lr": 0.25}))
    git(pipeline, "add", "params.json")
    mlv("run")
    mlv("snapshot", "-m", "run 2")
    before = tree_snapshot(pipeline)
    result = mlv("reproduce", "HEAD~1", "--check", "--json")
    assert result.code == 0, result.out + result.err
    report = json.loads(result.out)
    assert report["reproduced"] is True and report["first_divergence"] is None
    verdicts = {o["path"]: o["verdict"] for s in report["stages"] for o in s["outputs"]}
    assert verdicts == {
        "data/raw.csv": "identical",
        "data/features": "identical",
        "models/model.txt": "identical",
        "metrics.json": "identical",
    }
    assert tree_snapshot(pipeline) == before  # the work tree is byte-identical
    assert git(pipeline, "worktree", "list").count("\n") == 0  # the worktree is gone
    assert list((pipeline / ".mlv/tmp").iterdir()) == []


def test_nondeterministic_stage_is_named(pipeline: Path, mlv: MlvRunner, tmp_path: Path) -> None:
    write(pipeline / "noise.py", RANDOM)
    git(pipeline, "add", "noise.py")
    assert (
        mlv(
            "stage",
            "add",
            "noise",
            "-d",
            "noise.py",
            "-d",
            "models/model.txt",
            "-o",
            "scratch/noise.bin",
            "--",
            f"{PY} noise.py",
        ).code
        == 0
    )
    assert mlv("run").code == 0
    assert mlv("snapshot", "-m", "with noise").code == 0
    junit = tmp_path / "report.xml"
    result = mlv("reproduce", "--junit", str(junit))
    assert result.code == 1
    assert "divergence began at stage noise" in result.out
    assert "scratch/noise.bin" in result.out and "same size (64 bytes)" in result.out

    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite" and suite.get("tests") == "5" and suite.get("failures") == "1"
    cases = {(c.get("classname"), c.get("name")): c for c in suite.iter("testcase")}
    assert set(cases) == {
        ("mlv.gen", "data/raw.csv"),
        ("mlv.feat", "data/features"),
        ("mlv.train", "metrics.json"),
        ("mlv.train", "models/model.txt"),
        ("mlv.noise", "scratch/noise.bin"),
    }
    failure = cases[("mlv.noise", "scratch/noise.bin")].find("failure")
    assert failure is not None and failure.get("type") == "differs"
    assert cases[("mlv.gen", "data/raw.csv")].find("failure") is None


def test_metric_within_and_outside_tolerance(
    pipeline: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLV_TEST_NOISE", "0.001")
    moved = mlv("reproduce", "--json", "--tolerance", "accuracy=0.01")
    assert moved.code == 0, moved.out
    report = json.loads(moved.out)
    metrics = next(o for s in report["stages"] for o in s["outputs"] if o["path"] == "metrics.json")
    assert metrics["verdict"] == "within tolerance"
    assert metrics["metrics"][0]["name"] == "metrics.json:accuracy"
    assert abs(metrics["metrics"][0]["delta"] - 0.001) < 1e-9

    strict = mlv("reproduce", "--json", "--tolerance", "metrics.json:accuracy=0.0001")
    assert strict.code == 1
    report = json.loads(strict.out)
    assert report["first_divergence"] == "train"
    metrics = next(o for s in report["stages"] for o in s["outputs"] if o["path"] == "metrics.json")
    assert metrics["verdict"] == "differs" and "accuracy: 0.9 -> 0.901" in metrics["detail"]


def test_dirty_code_snapshot_is_reproduced_with_its_patch(pipeline: Path, mlv: MlvRunner) -> None:
    write(pipeline / "train.py", TRAIN.replace('* p["lr"]', '* p["lr"] * 3'))  # not committed
    assert mlv("run").code == 0
    snap = mlv("snapshot", "-m", "dirty experiment", "--json")
    assert any("uncommitted" in w for w in json.loads(snap.out)["warnings"])
    git(pipeline, "checkout", "--", "train.py")  # the experiment is gone from the work tree
    result = mlv("reproduce", "--check")
    assert result.code == 0, result.out + result.err
    assert "reproduced" in result.out


def test_failing_stage_records_nothing_for_it(project: Path, mlv: MlvRunner) -> None:
    setup_pipeline(project, mlv)
    write(project / "train.py", "raise SystemExit(3)\n")
    result = mlv("run")
    assert result.code == 1
    assert "stage train failed with exit code 3" in result.err
    stages = lock(project)["stages"]
    assert set(stages) == {"gen", "feat"}  # earlier stages stay recorded


def test_reproduce_reports_a_failing_stage(
    pipeline: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLV_TEST_NOISE", "not a number")
    result = mlv("reproduce", "--check")
    assert result.code == 1
    assert "stage train failed" in result.out and "ValueError" in result.out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            ["stage", "add", "again", "-d", "x.py", "-o", "data/raw.csv", "--", "true"],
            "both write data/raw.csv",
        ),
        (
            ["stage", "add", "loop", "-d", "models/model.txt", "-o", "data/raw2", "--", "true"],
            None,
        ),  # fine on its own; see the cycle below
        (
            ["stage", "add", "inside", "-d", "data", "-o", "data/out.csv", "--", "true"],
            "overlaps its dependency",
        ),
        (["stage", "add", "nocmd", "-d", "x", "-o", "y", "--", " "], "has no command"),
        (["stage", "add", "noout", "-d", "x", "--", "true"], "has no outputs"),
        (["stage", "add", "bad name!", "-o", "y", "--", "true"], "invalid stage name"),
    ],
)
def test_stage_add_validation(
    project: Path, mlv: MlvRunner, args: list[str], needle: str | None
) -> None:
    setup_pipeline(project, mlv)
    before = (project / "mlv.toml").read_text()
    result = mlv(*args)
    if needle is None:
        assert result.code == 0
        return
    assert result.code == 2, result.out
    assert needle in result.err and "hint:" in result.err
    assert (project / "mlv.toml").read_text() == before


def test_dependency_cycle_is_rejected(project: Path, mlv: MlvRunner) -> None:
    setup_pipeline(project, mlv)
    text = (
        (project / "mlv.toml")
        .read_text()
        .replace('deps = ["gen.py"]', 'deps = ["gen.py", "metrics.json"]')
    )
    (project / "mlv.toml").write_text(text)
    result = mlv("run")
    assert result.code == 2
    assert "stages form a cycle" in result.err and "gen" in result.err


def test_lineage_walks_back_to_raw_inputs(pipeline: Path, mlv: MlvRunner) -> None:
    tree = mlv("lineage", "models/model.txt")
    assert tree.code == 0
    for text in ("stage train", "stage feat", "stage gen", "gen.py", "[code]"):
        assert text in tree.out
    doc = json.loads(mlv("lineage", "models/model.txt", "--rev", "HEAD", "--format", "json").out)
    assert doc["commit"] and doc["lineage"]["stage"] == "train"
    feat = next(i for i in doc["lineage"]["inputs"] if i["path"] == "data/features")
    assert feat["stage"] == "feat" and feat["inputs"][0]["path"] in {"data/raw.csv", "feat.py"}
    mermaid = mlv("lineage", "models/model.txt", "--format", "mermaid").out
    assert mermaid.startswith("graph LR") and "-->" in mermaid
    dot = mlv("lineage", "models/model.txt", "--format", "dot").out
    assert dot.startswith("digraph lineage {") and "->" in dot
    shown = mlv("show", "HEAD")
    assert "train" in shown.out and "params.json:lr" in shown.out and "accuracy" in shown.out
    missing = mlv("lineage", "nope.txt")
    assert missing.code == 2 and "not an artifact" in missing.err


def test_reproduce_needs_recorded_objects(
    pipeline: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clone = tmp_path / "fresh-clone"
    git(tmp_path, "clone", "-q", str(pipeline), str(clone))
    monkeypatch.chdir(clone)
    result = mlv("reproduce", "--check")  # the recorded code patch is only in the store
    assert result.code == 1
    assert "missing from the store: xxh128:" in result.err and "mlv pull" in result.err
    assert mlv("init", "--cache-dir", str(pipeline / ".mlv/cache")).code == 0
    result = mlv("reproduce", "--check")
    assert result.code == 0, result.out + result.err


def test_reproduce_restores_tracked_inputs_from_the_store(project: Path, mlv: MlvRunner) -> None:
    write(project / "raw/input.csv", "".join(f"{i}\n" for i in range(100)))
    write(
        project / "sum.py",
        "t = sum(int(x) for x in open('raw/input.csv'))\nopen('total.txt', 'w').write(str(t))\n",
    )
    git(project, "add", "sum.py")
    assert mlv("track", "raw").code == 0
    assert (
        mlv(
            "stage",
            "add",
            "total",
            "-d",
            "sum.py",
            "-d",
            "raw/input.csv",
            "-o",
            "total.txt",
            "--",
            f"{PY} sum.py",
        ).code
        == 0
    )
    assert mlv("run").code == 0
    assert mlv("snapshot", "-m", "sum").code == 0
    write(project / "raw/input.csv", "1\n")  # the work tree moves on; the snapshot does not
    result = mlv("reproduce", "--json")
    assert result.code == 0, result.out + result.err
    assert json.loads(result.out)["stages"][0]["inputs_matched"] is True
    assert (project / "raw/input.csv").read_text() == "1\n"


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_reproduce_removes_its_worktree(
    project: Path, mlv: MlvRunner, sig: signal.Signals
) -> None:
    write(
        project / "slow.py",
        "import time, pathlib\npathlib.Path('started').write_text('1')\n"
        "time.sleep(60)\nopen('out.txt', 'w').write('x')\n",
    )
    git(project, "add", "slow.py")
    mlv("stage", "add", "slow", "-d", "slow.py", "-o", "out.txt", "--", f"{PY} slow.py")
    (project / "out.txt").write_text("x")
    # Record the stage without waiting a minute: run a fast variant of the script first.
    write(project / "slow.py", "open('out.txt', 'w').write('x')\n")
    assert mlv("run").code == 0
    write(
        project / "slow.py",
        "import time, pathlib\npathlib.Path('started').write_text('1')\n"
        "time.sleep(60)\nopen('out.txt', 'w').write('x')\n",
    )
    git(project, "add", "slow.py")
    assert mlv("snapshot", "-m", "slow").code == 0

    # A job started in the background inherits an ignored SIGINT; give the child a real one.
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlv", "reproduce"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    tmp = project / ".mlv/tmp"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not list(tmp.glob("reproduce-*/started")):
        time.sleep(0.05)
    assert list(tmp.glob("reproduce-*/started")), "the stage never started"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert b"interrupted" in err
    assert not list(tmp.glob("reproduce-*"))
    assert git(project, "worktree", "list").count("\n") == 0


def test_reproduce_restores_artifacts_inside_a_directory_dependency(
    project: Path, mlv: MlvRunner
) -> None:
    write(project / "data/README", "describes the data; kept in git\n")
    write(project / "data/raw/input.csv", "1\n2\n3\n")
    write(
        project / "count.py",
        "import os\nn = sum(len(fs) for _, _, fs in os.walk('data'))\n"
        "open('count.txt', 'w').write(str(n))\n",
    )
    git(project, "add", "count.py", "data/README")
    assert mlv("track", "data/raw").code == 0
    assert (
        mlv(
            "stage",
            "add",
            "count",
            "-d",
            "count.py",
            "-d",
            "data",
            "-o",
            "count.txt",
            "--",
            f"{PY} count.py",
        ).code
        == 0
    )
    assert mlv("run").code == 0
    assert mlv("snapshot", "-m", "count").code == 0
    result = mlv("reproduce", "--json")
    assert result.code == 0, result.out + result.err
    assert json.loads(result.out)["stages"][0]["inputs_matched"] is True


def test_run_refuses_to_replace_hand_edited_outputs(pipeline: Path, mlv: MlvRunner) -> None:
    write(pipeline / "models/model.txt", "hand-tuned weights\n")
    refused = mlv("run")
    assert refused.code == 1
    assert "output(s) changed since the stage last ran: models/model.txt" in refused.err
    assert (pipeline / "models/model.txt").read_text() == "hand-tuned weights\n"
    assert mlv("run", "--force").code == 0
    assert (pipeline / "models/model.txt").read_text().startswith("weight=")


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("params.yaml", "train:\n  lr: 0.5\n  epochs: 3\n"),
        ("params.toml", "[train]\nlr = 0.5\nepochs = 3\n"),
        ("params.json", '{"train": {"lr": 0.5, "epochs": 3}}'),
    ],
)
def test_params_in_yaml_toml_and_json(project: Path, mlv: MlvRunner, name: str, text: str) -> None:
    write(project / name, text)
    write(project / "fit.py", "open('fit.out', 'w').write('ok')\n")
    git(project, "add", name, "fit.py")
    assert (
        mlv(
            "stage",
            "add",
            "fit",
            "-d",
            "fit.py",
            "-p",
            f"{name}:train.lr",
            "-o",
            "fit.out",
            "--kind-of",
            "fit.out=model",
            "--",
            f"{PY} fit.py",
        ).code
        == 0
    )
    assert '[artifacts."fit.out"]\nkind = "model"' in (project / "mlv.toml").read_text()
    assert mlv("run").code == 0
    assert lock(project)["stages"]["fit"]["params"] == {f"{name}:train.lr": 0.5}
    write(project / name, text.replace("0.5", "0.25"))
    assert f"param changed: {name}:train.lr" in mlv("run", "--dry-run").out
    write(project / name, text.replace("epochs", "passes"))  # an undeclared key: not stale
    assert "fit: up to date" in mlv("run", "--dry-run").out


def test_reproduce_reports_environment_drift_and_keeps_workdir_on_request(
    pipeline: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (
        (pipeline / "mlv.toml")
        .read_text()
        .replace("variables = []", 'variables = ["MLV_TEST_SEED"]')
    )
    (pipeline / "mlv.toml").write_text(text)
    monkeypatch.setenv("MLV_TEST_SEED", "1")
    git(pipeline, "add", "mlv.toml")
    assert mlv("run").code == 0
    assert mlv("snapshot", "-m", "with a recorded variable").code == 0
    monkeypatch.setenv("MLV_TEST_SEED", "2")
    result = mlv("reproduce", "--json", "--keep-workdir")
    assert result.code == 0, result.out + result.err  # the outputs still match
    report = json.loads(result.out)
    assert report["environment"]["changed"] is True
    assert report["environment"]["variables_changed"] == ["MLV_TEST_SEED"]
    kept = Path(report["workdir"])
    assert (kept / "models/model.txt").exists()
    git(pipeline, "worktree", "remove", "--force", str(kept))
    human = mlv("reproduce")
    assert "environment differs" in human.out


def test_outputs_of_a_failed_run_are_debris_but_a_later_edit_is_not(
    project: Path, mlv: MlvRunner
) -> None:
    cmd = (
        "import pathlib, sys; pathlib.Path('out.txt').write_text('written by the stage'); "
        "sys.exit(1 if pathlib.Path('fail').exists() else 0)"
    )
    write(project / "in.txt", "1")
    assert mlv("track", "in.txt").code == 0
    assert mlv("stage", "add", "s", "-d", "in.txt", "-o", "out.txt", "--", "python", "-c",
               cmd).code == 0  # fmt: skip
    assert mlv("run").code == 0

    write(project / "fail", "")
    write(project / "in.txt", "2")
    assert mlv("run").code == 1  # the stage failed after writing its output
    (project / "fail").unlink()
    assert mlv("run").code == 0  # what the failed run left is replaced without --force

    write(project / "fail", "")
    write(project / "in.txt", "3")
    assert mlv("run").code == 1
    write(project / "out.txt", "my own edit")  # made after the failure: someone's work
    (project / "fail").unlink()
    refused = mlv("run")
    assert refused.code == 1 and "output(s) changed since the stage last ran" in refused.err
    assert (project / "out.txt").read_text() == "my own edit"
    assert mlv("run", "--force").code == 0
    assert not (project / ".mlv/tmp/running-s").exists()  # recorded: the marker is gone

    write(project / "fail", "")
    write(project / "in.txt", "4")
    assert mlv("run").code == 1
    assert (project / ".mlv/tmp/running-s").exists()
    write(project / "in.txt", "3")  # back to what the last good run used: up to date again
    assert mlv("checkout", "--force", "out.txt").code == 0
    assert mlv("run").code == 0  # skipped as up to date, and what the failure noted is gone
    assert not (project / ".mlv/tmp/running-s").exists()
