"""`mlv import-dvc` on real DVC projects, built with the real `dvc` (init, add, dvc.yaml stages
with params, repro): then `mlv status --check` is clean and `mlv reproduce --check` passes; what
cannot be mapped is listed; bad input is reported and never half-written; DVC's files stay."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlv import api
from tests.conftest import MlvRunner, git, write

pytestmark = pytest.mark.slow

PREP = """\
import pathlib, yaml
scale = yaml.safe_load(open("params.yaml"))["prep"]["scale"]
pathlib.Path("features").mkdir(exist_ok=True)
for f in sorted(pathlib.Path("data/raw").iterdir()):
    (pathlib.Path("features") / f.name).write_text(f.read_text() * scale)
"""
TRAIN = """\
import json, pathlib, yaml
lr = yaml.safe_load(open("params.yaml"))["train"]["lr"]
n = sum(len(f.read_text()) for f in sorted(pathlib.Path("features").iterdir()))
pathlib.Path("model.bin").write_text(f"{n * lr}\\n")
json.dump({"acc": n / 100}, open("metrics.json", "w"))
"""
PIPELINE = f"""\
stages:
  prep:
    cmd: {sys.executable} prep.py
    deps: [prep.py, data/raw]
    params: [prep.scale]
    outs: [features]
  train:
    cmd: {sys.executable} train.py
    deps: [train.py, features]
    params: [train.lr]
    outs: [model.bin]
    metrics:
      - metrics.json:
          cache: false
"""


def dvc(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    env = {**(env or os.environ), "DVC_NO_ANALYTICS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="session")
def dvc_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DVC project: `dvc add` of a data directory, two stages with params, `dvc repro`, all
    committed (metrics.json, an output, stays out of git as mlv needs). Built once per worker."""
    base = tmp_path_factory.mktemp("dvc-template")
    gitconfig = base / "gitconfig"
    gitconfig.write_text("[user]\n\tname = mlv tests\n\temail = tests@mlv.invalid\n")
    env = {**os.environ, "HOME": str(base), "GIT_CONFIG_GLOBAL": str(gitconfig)}
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    root = base / "repo"
    root.mkdir()

    def run(*args: str) -> None:
        subprocess.run(args, cwd=root, env=env, check=True, capture_output=True)

    run("git", "init", "-q", "-b", "main")
    dvc(root, "init", "-q", env=env)
    write(root / "data/raw/a.txt", "alpha\n")
    write(root / "data/raw/b.txt", "beta\n")
    dvc(root, "add", "-q", "data/raw", env=env)
    write(root / "params.yaml", "prep:\n  scale: 2\ntrain:\n  lr: 0.5\n")
    write(root / "prep.py", PREP)
    write(root / "train.py", TRAIN)
    write(root / "dvc.yaml", PIPELINE)
    dvc(root, "repro", "-q", env=env)
    write(root / ".gitignore", (root / ".gitignore").read_text() + "/metrics.json\n")
    run("git", "add", "-A")
    run("git", "commit", "-q", "-m", "a DVC project")
    shutil.rmtree(root / ".dvc/tmp", ignore_errors=True)  # DVC's scratch: state by inode
    return root


@pytest.fixture
def dvc_project(dvc_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the DVC project, as the current directory."""
    root = tmp_path / "repo"
    shutil.copytree(dvc_template, root, symlinks=True)
    monkeypatch.chdir(root)
    return root


def dvc_files(root: Path) -> dict[str, str]:
    """DVC's files and cache, by content: what import-dvc must leave as it was."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and (
            (rel.startswith(".dvc/") and not rel.startswith(".dvc/tmp/"))
            or rel.endswith((".dvc", "dvc.yaml", "dvc.lock", "params.yaml", ".dvcignore"))
        ):
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def cache_file(root: Path, md5: str) -> Path:
    return root / ".dvc/cache/files/md5" / md5[:2] / md5[2:]


def locked_md5(root: Path, stage: str, out: str) -> str:
    import yaml

    lock = yaml.safe_load((root / "dvc.lock").read_text())
    return next(o["md5"] for o in lock["stages"][stage]["outs"] if o["path"] == out)


def test_import_then_status_is_clean_and_reproduce_passes(
    dvc_project: Path, mlv: MlvRunner
) -> None:
    before = dvc_files(dvc_project)
    result = mlv("import-dvc", "--json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    paths = {a["path"]: a for a in doc["artifacts"]}
    assert set(paths) == {"data/raw", "features", "model.bin", "metrics.json"}
    assert paths["data/raw"]["type"] == "dir" and paths["data/raw"]["files"] == 2
    assert paths["metrics.json"]["kind"] == "metrics"
    assert {s["name"]: s["recorded"] for s in doc["stages"]} == {"prep": True, "train": True}
    assert doc["skipped"] == [] and doc["written"]
    status = mlv("status", "--check")
    assert status.code == 0, status.out
    toml = (dvc_project / "mlv.toml").read_text()
    assert 'params = ["params.yaml:prep.scale"]' in toml and 'metrics = ["metrics.json"]' in toml
    lock = json.loads((dvc_project / "mlv.lock").read_text())
    assert lock["stages"]["train"]["params"] == {"params.yaml:train.lr": 0.5}
    assert lock["stages"]["train"]["metrics"] == {"metrics.json:acc": 0.22}
    assert mlv("snapshot", "-m", "adopt the DVC project").code == 0
    reproduced = mlv("reproduce", "--check")
    assert reproduced.code == 0, reproduced.out + reproduced.err
    assert dvc_files(dvc_project) == before
    # The data is mlv's now: it reads back from the store, and checks out after deletion.
    assert api.read_text("data/raw/b.txt", rev="HEAD") == "beta\n"
    (dvc_project / "model.bin").unlink()
    assert mlv("checkout").code == 0 and (dvc_project / "model.bin").exists()


def test_dry_run_writes_nothing_and_says_what_it_would_do(
    dvc_project: Path, mlv: MlvRunner
) -> None:
    listing = sorted(
        p.relative_to(dvc_project).as_posix()
        for p in dvc_project.rglob("*")
        if ".git/" not in p.as_posix() and "/.dvc/tmp" not in p.as_posix()
    )
    result = mlv("import-dvc", "--dry-run")
    assert result.code == 0, result.err
    assert "stage train" in result.out and "dry run: nothing was written" in result.out
    after = sorted(
        p.relative_to(dvc_project).as_posix()
        for p in dvc_project.rglob("*")
        if ".git/" not in p.as_posix() and "/.dvc/tmp" not in p.as_posix()
    )
    assert after == listing and git(dvc_project, "status", "--porcelain") == ""


def test_a_corrupt_cache_file_is_reported_not_imported(dvc_project: Path, mlv: MlvRunner) -> None:
    bad = cache_file(dvc_project, locked_md5(dvc_project, "train", "model.bin"))
    bad.chmod(0o644)
    bad.write_text("not the model\n")
    result = mlv("import-dvc", "--json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    [skipped] = doc["skipped"]
    assert skipped["what"].startswith("stage train") and "corrupt" in skipped["reason"]
    assert {a["path"] for a in doc["artifacts"]} == {"data/raw", "features"}
    lock = json.loads((dvc_project / "mlv.lock").read_text())
    assert "model.bin" not in lock["artifacts"] and set(lock["stages"]) == {"prep"}
    assert "model.bin" not in (dvc_project / "mlv.toml").read_text()
    assert bad.read_text() == "not the model\n"  # reported; DVC's cache is left as it was


def test_a_missing_cache_object_falls_back_to_a_matching_work_tree_file(
    dvc_project: Path, mlv: MlvRunner
) -> None:
    cache_file(dvc_project, locked_md5(dvc_project, "train", "model.bin")).unlink()
    result = json.loads(mlv("import-dvc", "--json").out)
    model = next(a for a in result["artifacts"] if a["path"] == "model.bin")
    assert model["from_workspace"] == 1 and result["skipped"] == []
    assert mlv("status", "--check").code == 0


def test_nothing_importable_is_exit_2_and_nothing_written(
    dvc_project: Path, mlv: MlvRunner
) -> None:
    shutil.rmtree(dvc_project / ".dvc/cache")
    shutil.rmtree(dvc_project / "data/raw")
    (dvc_project / "dvc.yaml").unlink()
    (dvc_project / "dvc.lock").unlink()
    result = mlv("import-dvc")
    assert result.code == 2
    assert "nothing in this DVC project could be imported" in result.err
    assert "data/raw.dvc: data/raw: DVC's listing" in result.err
    assert "missing from its cache" in result.err
    assert not (dvc_project / "mlv.toml").exists() and not (dvc_project / "mlv.lock").exists()


def test_a_corrupt_dvc_lock_is_a_clear_error(dvc_project: Path, mlv: MlvRunner) -> None:
    (dvc_project / "dvc.lock").write_text("schema: '2.0'\nstages:\n  prep: [1, 2\n")
    result = mlv("import-dvc")
    assert result.code == 2 and "Traceback" not in result.err
    assert "dvc.lock" in result.err and "cannot be read" in result.err
    assert not (dvc_project / "mlv.toml").exists() and not (dvc_project / "mlv.lock").exists()


def test_a_listing_that_escapes_the_repository_is_refused(
    dvc_project: Path, mlv: MlvRunner
) -> None:
    listing = json.dumps([{"md5": "0" * 32, "relpath": "../../escape.txt"}]).encode()
    md5 = hashlib.md5(listing).hexdigest()
    write(cache_file(dvc_project, md5 + ".dir"), listing)
    dvcfile = dvc_project / "data/raw.dvc"
    text = dvcfile.read_text()
    raw_md5 = text.split("md5: ")[1].split()[0]
    dvcfile.write_text(text.replace(raw_md5, md5 + ".dir"))
    result = mlv("import-dvc")  # and the stages that read data/raw are not imported either
    assert result.code == 2
    assert "data/raw.dvc: data/raw: DVC's listing names a bad path" in result.err
    assert not (dvc_project / "../escape.txt").exists()
    assert not (dvc_project / "mlv.lock").exists()


def test_what_cannot_be_mapped_is_listed_with_the_reason(
    dvc_project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    extra = f"""\
  sweep:
    foreach: [1, 2]
    do:
      cmd: echo ${{item}} > out${{item}}.txt
      outs:
        - out${{item}}.txt
  grid:
    matrix:
      a: [x, y]
    cmd: echo ${{item.a}} > g${{item.a}}.txt
    outs:
      - g${{item.a}}.txt
  outside:
    cmd: echo hi > {tmp_path}/external.txt
    outs:
      - {tmp_path}/external.txt
plots:
  - metrics.json
"""
    write(dvc_project / "dvc.yaml", PIPELINE + extra)
    dvc(dvc_project, "remote", "add", "store", "s3://bucket/dvc")
    dvc(dvc_project, "remote", "modify", "--local", "store", "secret_access_key", "hunter2")
    dvc(dvc_project, "remote", "add", "plain", str(tmp_path / "dvc-remote"))
    dvc(dvc_project, "config", "cache.type", "symlink")
    result = mlv("import-dvc")
    assert result.code == 0, result.err
    out = " ".join(result.out.split())
    for name in ("sweep@1", "sweep@2"):
        assert f"stage {name} (dvc.yaml): a foreach stage" in out
    assert "stage grid@x (dvc.yaml): a matrix stage" in out
    assert "external output" in out
    assert "plot metrics.json (dvc.yaml): mlv has no plots" in out
    assert "remote store (s3://bucket/dvc): it carries credentials (secret_access_key)" in out
    assert "remote plain" in out and "DVC's objects (md5), not mlv's" in out
    assert "cache.type symlink: work-tree files may be symbolic links" in out
    assert "hunter2" not in result.out + (dvc_project / "mlv.toml").read_text()
    assert "stage prep: recorded" in out and "stage train: recorded" in out
    assert mlv("status", "--check").code == 0


def test_running_it_again_changes_nothing(dvc_project: Path, mlv: MlvRunner) -> None:
    assert mlv("import-dvc").code == 0
    assert mlv("track", "--kind", "other", "features").code == 0  # a kind chosen since is kept
    toml, lock = (dvc_project / "mlv.toml").read_text(), (dvc_project / "mlv.lock").read_text()
    again = mlv("import-dvc", "--json")
    assert again.code == 0, again.err
    doc = json.loads(again.out)
    assert doc["skipped"] == [] and all(s["recorded"] for s in doc["stages"])
    assert (dvc_project / "mlv.toml").read_text() == toml
    assert (
        json.loads((dvc_project / "mlv.lock").read_text())["stages"] == json.loads(lock)["stages"]
    )
    assert mlv("status", "--check").code == 0


def test_outside_a_dvc_project_it_says_so(project: Path, mlv: MlvRunner) -> None:
    result = mlv("import-dvc")
    assert result.code == 2 and "is not a DVC project" in result.err
    assert not (project / "mlv.lock").exists()


def test_a_stage_dvc_calls_changed_gets_no_record_and_mlv_run_makes_one(
    dvc_project: Path, mlv: MlvRunner
) -> None:
    write(dvc_project / "params.yaml", "prep:\n  scale: 3\ntrain:\n  lr: 0.5\n")
    doc = json.loads(mlv("import-dvc", "--json").out)
    stages = {s["name"]: s for s in doc["stages"]}
    assert not stages["prep"]["recorded"] and "changed" in stages["prep"]["note"]
    assert stages["train"]["recorded"]
    status = mlv("status", "--check")
    assert status.code == 1 and "stage prep: stale (never ran)" in status.out
    assert mlv("run").code == 0
    assert mlv("status", "--check").code == 0


def test_a_work_tree_file_that_is_not_what_dvc_recorded_is_not_imported(
    dvc_project: Path, mlv: MlvRunner
) -> None:
    md5 = locked_md5(dvc_project, "train", "model.bin")
    cache_file(dvc_project, md5).unlink()
    write(dvc_project / "model.bin", "edited by hand\n")
    doc = json.loads(mlv("import-dvc", "--json").out)
    [skipped] = doc["skipped"]
    assert skipped["what"].startswith("stage train")
    assert "not the one DVC recorded" in skipped["reason"]
    assert {a["path"] for a in doc["artifacts"]} == {"data/raw", "features"}


def test_without_dvc_installed_it_says_how_to_get_it(dvc_project: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['dvc'] = None  # as if DVC were not installed\n"
        "from mlv.cli.main import main\n"
        "sys.exit(main(['import-dvc']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=dvc_project, capture_output=True, text=True
    )
    assert done.returncode == 2, done.stderr
    assert "needs DVC's library" in done.stderr and "mlv-cli[dvc]" in done.stderr
    assert not (dvc_project / "mlv.toml").exists()


def test_a_nested_dvc_yaml_becomes_a_stage_named_after_its_directory(
    dvc_project: Path, mlv: MlvRunner
) -> None:
    # A root stage already named as the nested one would be: the nested one gets `-2`.
    write(dvc_project / "sub/in.txt", "nested\n")
    dvc(dvc_project, "stage", "add", "-q", "-n", "sub-copy", "-d", "sub/in.txt", "-o",
        "root_copy.txt", "cp sub/in.txt root_copy.txt")  # fmt: skip
    dvc(dvc_project, "repro", "-q")
    dvc(dvc_project / "sub", "stage", "add", "-q", "-n", "copy", "-d", "in.txt", "-o",
        "out.txt", "cp in.txt out.txt")  # fmt: skip
    dvc(dvc_project / "sub", "repro", "-q")
    git(dvc_project, "add", "-A")
    git(dvc_project, "commit", "-q", "-m", "a nested dvc.yaml")
    result = mlv("import-dvc")
    assert result.code == 0, result.err
    out = " ".join(result.out.split())
    assert "stage sub-copy-2 (DVC sub/dvc.yaml:copy): recorded — cd sub && cp in.txt out.txt" in out
    assert "stage sub-copy: recorded — cp sub/in.txt root_copy.txt" in out
    assert "not imported" not in out
    toml = (dvc_project / "mlv.toml").read_text()
    assert '[stages.sub-copy-2]\ncmd = "cd sub && cp in.txt out.txt"' in toml
    assert 'deps = ["sub/in.txt"]\nouts = ["sub/out.txt"]' in toml
    status = mlv("status", "--check")
    assert status.code == 0, status.out
    assert mlv("snapshot", "-m", "adopt the DVC project").code == 0
    reproduced = mlv("reproduce", "--check")
    assert reproduced.code == 0, reproduced.out + reproduced.err
    assert "sub-copy-2  sub/out.txt" in reproduced.out
    again = json.loads(mlv("import-dvc", "--json").out)  # the same names the second time
    names = {s["dvc"]: (s["name"], s["recorded"]) for s in again["stages"]}
    assert names["sub/dvc.yaml:copy"] == ("sub-copy-2", True)
    assert (dvc_project / "mlv.toml").read_text() == toml


def test_from_a_subdirectory_it_imports_the_whole_repository(
    dvc_project: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(dvc_project / "data")
    result = mlv("import-dvc", "--json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["skipped"] == []
    assert {s["name"]: s["recorded"] for s in doc["stages"]} == {"prep": True, "train": True}
    assert {a["source"] for a in doc["artifacts"]} == {"data/raw.dvc", "dvc.yaml"}
    assert not (dvc_project / "data/mlv.toml").exists()
    monkeypatch.chdir(dvc_project)
    assert mlv("status", "--check").code == 0
    assert mlv("snapshot", "-m", "adopt the DVC project").code == 0
    reproduced = mlv("reproduce", "--check")
    assert reproduced.code == 0, reproduced.out + reproduced.err


def test_a_stage_reading_data_that_was_not_imported_is_not_imported(
    dvc_project: Path, mlv: MlvRunner
) -> None:
    write(dvc_project / "notes.txt", "kept\n")
    dvc(dvc_project, "add", "-q", "notes.txt")
    dvcfile = (dvc_project / "data/raw.dvc").read_text()
    cache_file(dvc_project, dvcfile.split("md5: ")[1].split()[0]).unlink()  # its listing
    result = mlv("import-dvc", "--json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    reasons = {s["what"]: s["reason"] for s in doc["skipped"]}
    assert "missing from its cache" in reasons["data/raw.dvc"]
    assert reasons["stage prep (dvc.yaml)"] == (
        "it needs data/raw, and data/raw was not imported (data/raw.dvc)"
    )
    assert reasons["stage train (dvc.yaml)"] == (
        "it needs features, and features was not imported (stage prep (dvc.yaml))"
    )
    assert doc["stages"] == [] and [a["path"] for a in doc["artifacts"]] == ["notes.txt"]
    lock = json.loads((dvc_project / "mlv.lock").read_text())
    assert lock["stages"] == {} and set(lock["artifacts"]) == {"notes.txt"}
    assert "[stages" not in (dvc_project / "mlv.toml").read_text()
    assert mlv("status", "--check").code == 0


def test_when_only_stages_reading_missing_data_remain_nothing_is_written(
    dvc_project: Path, mlv: MlvRunner
) -> None:
    dvcfile = (dvc_project / "data/raw.dvc").read_text()
    cache_file(dvc_project, dvcfile.split("md5: ")[1].split()[0]).unlink()
    result = mlv("import-dvc")
    assert result.code == 2, result.out
    err = " ".join(result.err.split())
    assert "stage prep (dvc.yaml): it needs data/raw" in err
    assert not (dvc_project / "mlv.toml").exists() and not (dvc_project / "mlv.lock").exists()


def test_killed_at_each_durable_step_it_completes_when_run_again(
    dvc_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crash sweep of import-dvc (as tests/test_crash_safety.py does for the other commands
    that write): SIGKILLed at each mark, the store holds only whole objects, mlv.lock is absent
    or whole, DVC's files are as they were, and running it again ends where one run ends.
    By default at its decisive marks (halfway through the pack of the imported data, between
    mlv.toml and mlv.lock, halfway through mlv.lock); every mark with MLV_FULL_SWEEP=1."""
    from tests.crash import assert_store_consistent, clone_dir, marks_where, run_mlv, sweep

    def decisive(marks: list[str]) -> list[int]:
        writes = [m for m in marks if " write " in m]
        chosen = [
            marks_where(writes, "/tmp/.pack.")[-1],
            *marks_where(writes, ".gitignore.")[-1:],
            *marks_where(writes, ".mlv.lock."),
        ]
        assert len(chosen) == 3, marks
        return chosen

    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    template = dvc_template.parent
    dvc_before = dvc_files(dvc_template)
    reference = clone_dir(template, tmp_path / "reference") / "repo"
    assert run_mlv(reference, "import-dvc").returncode == 0
    expected = {
        name: (reference / name).read_bytes() for name in ("mlv.toml", "mlv.lock", ".gitignore")
    }
    killed_any = False
    pick = None if os.environ.get("MLV_FULL_SWEEP") else decisive
    for killed in sweep(template, tmp_path, "repo", "import-dvc", pick=pick):
        killed_any = True
        work = killed.work
        assert_store_consistent(work / ".mlv/cache")
        lock = work / "mlv.lock"
        assert not lock.exists() or lock.read_bytes() == expected["mlv.lock"], killed.point
        assert dvc_files(work) == dvc_before, killed.point
        again = run_mlv(work, "import-dvc")
        assert again.returncode == 0, (killed.point, again.stderr)
        for name, content in expected.items():
            assert (work / name).read_bytes() == content, (killed.point, name)
        status = run_mlv(work, "status", "--check")
        assert status.returncode == 0, (killed.point, status.stdout)
        assert run_mlv(work, "verify").returncode == 0, killed.point
    assert killed_any
