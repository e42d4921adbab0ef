"""Git hooks with real git commands: commit, checkout, merge, push (to a bare repo on disk)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MlvRunner, git, write


def git_rc(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


@pytest.fixture
def hooked(project: Path, mlv: MlvRunner) -> Path:
    write(project / "data/raw/a.csv", "v1\n")
    write(project / "train.py", "print('train')\n")
    git(project, "add", "train.py")
    assert mlv("track", "data/raw").code == 0
    assert mlv("snapshot", "-m", "data v1").code == 0
    result = mlv("hooks", "install")
    assert result.code == 0, result.err
    return project


def test_install_writes_recognisable_shims_idempotently(hooked: Path, mlv: MlvRunner) -> None:
    hooks = hooked / ".git/hooks"
    for name in ("pre-commit", "post-checkout", "post-merge", "pre-push"):
        text = (hooks / name).read_text()
        assert "# mlv-hook-shim" in text and os.access(hooks / name, os.X_OK)
        assert f"HOOK_NAME={name}" in text
    again = mlv("hooks", "install")
    assert again.code == 0 and again.out.count("updated") == 4


def test_commit_with_stale_data_is_refused_until_snapshot(hooked: Path, mlv: MlvRunner) -> None:
    write(hooked / "data/raw/a.csv", "v2, not snapshotted\n")
    write(hooked / "train.py", "print('train v2')\n")
    refused = git_rc(hooked, "commit", "-qam", "new code with stale data")
    assert refused.returncode == 1
    assert "commit refused" in refused.stderr and "data/raw (modified)" in refused.stderr
    assert "mlv snapshot" in refused.stderr and "git commit --no-verify" in refused.stderr
    assert git(hooked, "log", "--format=%s", "-1") == "data v1"

    snap = mlv("snapshot", "-m", "data v2")  # its own commit passes the hook
    assert snap.code == 0, snap.err
    assert git(hooked, "log", "--format=%s", "-1") == "data v2"
    write(hooked / "train.py", "print('train v3')\n")
    assert git_rc(hooked, "commit", "-qam", "code only").returncode == 0


def test_commit_refused_for_stale_stage_and_for_staged_tracked_file(
    hooked: Path, mlv: MlvRunner
) -> None:
    write(hooked / "make.py", "import shutil; shutil.copy('data/raw/a.csv', 'out.csv')\n")
    git(hooked, "add", "make.py")
    mlv(
        "stage",
        "add",
        "copy",
        "-d",
        "make.py",
        "-d",
        "data/raw",
        "-o",
        "out.csv",
        "--",
        f"{sys.executable} make.py",
    )
    assert mlv("run").code == 0
    assert mlv("snapshot", "-m", "stage").code == 0
    write(hooked / "make.py", "import shutil; shutil.copy('data/raw/a.csv', 'out.csv')  # v2\n")
    refused = git_rc(hooked, "commit", "-qam", "changed the stage's code")
    assert refused.returncode == 1 and "stage copy (dependency changed: make.py)" in refused.stderr
    assert "mlv run" in refused.stderr
    git(hooked, "checkout", "--", "make.py")

    write(hooked / "data/raw/b.csv", "sneaky\n")
    git(hooked, "add", "-f", "data/raw/b.csv")
    refused = git_rc(hooked, "commit", "-qm", "data into git")
    assert refused.returncode == 1
    assert "data/raw/b.csv is inside a tracked path but staged into git" in refused.stderr


def test_malformed_staged_lock_is_refused(hooked: Path) -> None:
    (hooked / "mlv.lock").write_text('{"schema": 1, "artifacts": {"../x": 1}}')
    git(hooked, "add", "mlv.lock")
    refused = git_rc(hooked, "commit", "-qm", "broken lock")
    assert refused.returncode == 1 and "mlv.lock" in refused.stderr
    assert "malformed" in refused.stderr


def test_checkout_and_merge_bring_the_data_along(hooked: Path, mlv: MlvRunner) -> None:
    git(hooked, "checkout", "-q", "-b", "feature")
    write(hooked / "data/raw/a.csv", "feature data\n")
    write(hooked / "data/raw/new.csv", "only on feature\n")
    assert mlv("snapshot", "-m", "feature data").code == 0

    back = git_rc(hooked, "checkout", "-q", "main")
    assert back.returncode == 0
    assert (hooked / "data/raw/a.csv").read_text() == "v1\n"
    assert not (hooked / "data/raw/new.csv").exists()
    assert "data updated to match mlv.lock" in back.stderr

    merged = git_rc(hooked, "merge", "-q", "--ff-only", "feature")
    assert merged.returncode == 0, merged.stderr
    assert (hooked / "data/raw/a.csv").read_text() == "feature data\n"
    assert (hooked / "data/raw/new.csv").exists()

    write(hooked / "data/raw/a.csv", "unsaved edit\n")
    git(hooked, "checkout", "-q", "-b", "other", "HEAD~1")
    assert (hooked / "data/raw/a.csv").read_text() == "unsaved edit\n"  # never clobbered


def test_checkout_lists_missing_objects_and_says_pull(hooked: Path, mlv: MlvRunner) -> None:
    git(hooked, "checkout", "-q", "-b", "feature")
    write(hooked / "data/raw/a.csv", "feature data\n")
    mlv("snapshot", "-m", "feature data")
    git(hooked, "checkout", "-q", "main")
    shutil.rmtree(hooked / ".mlv/cache")
    switched = git_rc(hooked, "checkout", "-q", "feature")
    assert switched.returncode == 0  # git's checkout is not broken
    assert "mlv pull" in switched.stderr


def test_user_hook_is_chained_and_restored(project: Path, mlv: MlvRunner) -> None:
    hooks = project / ".git/hooks"
    hooks.mkdir(exist_ok=True)
    user_hook = '#!/bin/sh\necho user-hook-ran >> "$(git rev-parse --show-toplevel)/hook.log"\n'
    (hooks / "pre-commit").write_text(user_hook)
    (hooks / "pre-commit").chmod(0o755)
    installed = mlv("hooks", "install")
    assert installed.code == 0 and "kept as pre-commit.mlv-user" in installed.out
    write(project / "code.py", "x = 1\n")
    git(project, "add", "code.py")
    assert git_rc(project, "commit", "-qm", "with both hooks").returncode == 0
    assert (project / "hook.log").read_text() == "user-hook-ran\n"

    assert mlv("hooks", "uninstall").code == 0
    assert (hooks / "pre-commit").read_text() == user_hook
    assert not (hooks / "pre-commit.mlv-user").exists()
    assert not (hooks / "pre-push").exists()


def test_core_hooks_path_is_honoured(project: Path, mlv: MlvRunner) -> None:
    git(project, "config", "core.hooksPath", ".githooks")
    assert mlv("hooks", "install").code == 0
    assert (project / ".githooks/pre-commit").exists()
    assert not (project / ".git/hooks/pre-commit").exists()


def test_pre_push_uploads_to_the_mlv_remote(hooked: Path, mlv: MlvRunner, tmp_path: Path) -> None:
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(hooked, "remote", "add", "origin", str(bare))
    data_remote = tmp_path / "data-remote"
    mlv("remote", "add", "storage", str(data_remote))
    mlv("snapshot", "-m", "remote configured")
    pushed = git_rc(hooked, "push", "-q", "origin", "main")
    assert pushed.returncode == 0, pushed.stderr
    assert "uploaded" in pushed.stderr
    lock = json.loads((hooked / "mlv.lock").read_text())
    tree = lock["artifacts"]["data/raw"]["id"].split(":")[1]
    assert (data_remote / "xxh128" / tree[:2] / tree[2:]).exists()

    # A remote that cannot be written blocks the push with a clear message.
    shutil.rmtree(data_remote / "tmp")
    (data_remote / "tmp").write_text("a file where the upload directory belongs")
    write(hooked / "data/raw/a.csv", "v3\n")
    mlv("snapshot", "-m", "v3")
    refused = git_rc(hooked, "push", "-q", "origin", "main")
    assert refused.returncode != 0
    assert "push refused" in refused.stderr and "--no-verify" in refused.stderr


def test_shim_says_what_to_do_without_mlv(hooked: Path) -> None:
    shim = hooked / ".git/hooks/pre-commit"
    text = shim.read_text()
    start = text.index("INSTALL_PYTHON=")
    end = text.index("\n", start)
    shim.write_text(text[:start] + "INSTALL_PYTHON=/nonexistent/python" + text[end:])
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": os.environ["HOME"],
        "GIT_CONFIG_GLOBAL": os.environ["GIT_CONFIG_GLOBAL"],
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    write(hooked / "x.py", "1")
    git(hooked, "add", "x.py")
    result = subprocess.run(
        ["git", "commit", "-qm", "x"],
        cwd=hooked,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 1
    assert "mlv is not installed" in result.stderr and "--no-verify" in result.stderr


@pytest.mark.slow
def test_pre_commit_framework_try_repo(hooked: Path) -> None:
    """The real pre-commit tool installs this repository's hooks and runs them."""
    pre_commit = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    if pre_commit is None:
        pytest.fail("pre-commit is not installed (it is part of the dev extra)")
    source = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PRE_COMMIT_HOME": str(hooked.parent / "pre-commit-home")}
    ok = subprocess.run(
        [pre_commit, "try-repo", str(source), "mlv-status", "--all-files"],
        cwd=hooked,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "mlv artifacts and stages match mlv.lock" in ok.stdout and "Passed" in ok.stdout

    write(hooked / "data/raw/a.csv", "changed, not snapshotted\n")
    bad = subprocess.run(
        [pre_commit, "try-repo", str(source), "mlv-status", "--all-files"],
        cwd=hooked,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert bad.returncode == 1 and "Failed" in bad.stdout and "data/raw" in bad.stdout
