"""Git hooks with real git commands: commit, checkout, merge, push (to a bare repo on disk)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MlvRunner, git, write
from tests.crash import store_objects
from tests.stored import overwrite_object


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


def test_commit_refused_when_mlv_toml_is_broken_says_how_to_bypass(hooked: Path) -> None:
    """Any error of the pre-commit check refuses the commit through the error boundary, with
    the bypass in the hint."""
    (hooked / "mlv.toml").write_text("this is [not toml\n")
    refused = git_rc(hooked, "commit", "-qam", "broken declarations")
    assert refused.returncode == 1
    lines = refused.stderr.splitlines()
    assert lines[0].startswith("error: commit refused by mlv: mlv.toml is not valid TOML")
    assert lines[1].startswith("hint: fix the syntax in mlv.toml")
    assert lines[1].endswith("to commit anyway, once: `git commit --no-verify`")


def test_hooks_stay_quiet_without_mlv_and_reject_unknown_names(repo: Path, mlv: MlvRunner) -> None:
    for hook in ("pre-commit", "post-checkout", "post-merge", "pre-push", "lock-valid"):
        result = mlv("hooks", "run", hook, "a", "b", "1")
        assert (result.code, result.out, result.err) == (0, "", ""), hook
    unknown = mlv("hooks", "run", "post-rewrite")
    assert unknown.code == 2 and "unknown hook 'post-rewrite'" in unknown.err


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


def _rewrite(root: Path, oid: str, content: bytes) -> None:
    overwrite_object(root / ".mlv/cache", oid, content)


@pytest.fixture
def feature(hooked: Path, mlv: MlvRunner) -> Path:
    """A branch "feature" with new code and new data, snapshotted; main checked out again."""
    git(hooked, "checkout", "-q", "-b", "feature")
    write(hooked / "train.py", "print('train on feature')\n")
    git(hooked, "commit", "-qam", "feature code")
    write(hooked / "data/raw/a.csv", "feature data\n")
    assert mlv("snapshot", "-m", "feature data").code == 0
    git(hooked, "checkout", "-q", "main")
    assert (hooked / "data/raw/a.csv").read_text() == "v1\n"
    return hooked


def _commit_on_feature(root: Path, name: str, content: str) -> None:
    """Commit a file on feature as a user could (bypassing mlv's pre-commit), back on main."""
    git(root, "checkout", "-q", "feature")
    (root / name).write_text(content)
    git(root, "commit", "-q", "--no-verify", "-am", f"break {name}")
    git(root, "checkout", "-q", "main")


def _feature_lock(root: Path) -> dict[str, Any]:
    lock: dict[str, Any] = json.loads(git(root, "show", "feature:mlv.lock"))
    return lock


def _broken_toml(root: Path) -> dict[str, str]:
    text = git(root, "show", "feature:mlv.toml") + "\nthis is [not toml\n"
    _commit_on_feature(root, "mlv.toml", text)
    return {}


def _malformed_lock(root: Path) -> dict[str, str]:
    _commit_on_feature(root, "mlv.lock", '{"schema": 1, "artifacts": {"data/raw": 1}}')
    return {}


def _newer_lock(root: Path) -> dict[str, str]:
    lock = _feature_lock(root)
    lock["schema"] = 99
    _commit_on_feature(root, "mlv.lock", json.dumps(lock))
    return {}


def _escaping_lock(root: Path) -> dict[str, str]:
    lock = _feature_lock(root)
    lock["artifacts"]["../outside"] = lock["artifacts"].pop("data/raw")
    _commit_on_feature(root, "mlv.lock", json.dumps(lock))
    return {}


def _corrupt_object(root: Path) -> dict[str, str]:
    from mlv.storage.hashing import hash_bytes

    _rewrite(root, str(hash_bytes(b"feature data\n")), b"featURE data\n")
    return {}


def _corrupt_tree(root: Path) -> dict[str, str]:
    tree = _feature_lock(root)["artifacts"]["data/raw"]["id"]
    _rewrite(root, tree, b"not a tree")
    return {}


def _missing_objects(root: Path) -> dict[str, str]:
    shutil.rmtree(root / ".mlv/cache")
    return {}


def _store_unreadable(root: Path) -> dict[str, str]:
    shutil.rmtree(root / ".mlv/cache")
    (root / ".mlv/cache").write_text("not a directory")  # as root, chmod 000 would not stop us
    return {}


def _disk_error(root: Path) -> dict[str, str]:
    return {"MLV_FAULT": "eio@1"}  # the first data write of the checkout fails with EIO


def _stat_cache_corrupt(root: Path) -> dict[str, str]:
    for leftover in (root / ".mlv").glob("state.db*"):
        leftover.unlink()
    (root / ".mlv/state.db").write_text("garbage")  # sqlite3.DatabaseError: a bug's shape
    return {}


# (how the new branch or the store is broken, what the warning says, what it tells to do)
FAILURES = {
    "broken mlv.toml": (_broken_toml, "mlv.toml is not valid TOML", "mlv checkout"),
    "malformed mlv.lock": (_malformed_lock, "mlv.lock is malformed", "mlv checkout"),
    "newer mlv.lock": (_newer_lock, "mlv.lock has schema version 99", "upgrade mlv"),
    "path escape in mlv.lock": (_escaping_lock, "'../outside' is not normalised", "mlv checkout"),
    "corrupt object": (_corrupt_object, "is corrupt", "mlv verify"),
    "corrupt tree": (_corrupt_tree, "is corrupt", "mlv verify"),
    "missing objects": (_missing_objects, "not in the local store", "mlv pull"),
    "unreadable store": (_store_unreadable, ".mlv/cache", "mlv checkout"),
    "disk error": (_disk_error, "Input/output error", "mlv checkout"),
    "internal error": (_stat_cache_corrupt, "internal error: DatabaseError", "mlv checkout"),
}


@pytest.mark.parametrize(
    ("command", "failure"),
    [("checkout", failure) for failure in FAILURES]
    + [("switch", "broken mlv.toml"), ("switch", "corrupt object")],
)
def test_a_failing_post_checkout_warns_and_git_switches(
    feature: Path, command: str, failure: str
) -> None:
    """post-checkout never fails git: the branch switches, and one line says what to do."""
    breaks, problem, todo = FAILURES[failure]
    env = {**os.environ, **breaks(feature)}
    switched = subprocess.run(
        ["git", command, "feature"],
        cwd=feature,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert switched.returncode == 0, switched.stderr
    assert git(feature, "branch", "--show-current") == "feature"
    assert (feature / "train.py").read_text() == "print('train on feature')\n"
    warnings = [line for line in switched.stderr.splitlines() if line.startswith("mlv: warning")]
    assert len(warnings) == 1, switched.stderr
    assert "data not updated" in warnings[0] and problem in warnings[0]
    assert todo in warnings[0], warnings[0]
    assert "Traceback" not in switched.stderr
    # Nothing half-done: the data is the old branch's, untouched, and nothing went elsewhere.
    assert (feature / "data/raw/a.csv").read_text() == "v1\n"
    assert not (feature.parent / "outside").exists()


@pytest.mark.parametrize("failure", ["broken mlv.toml", "corrupt object", "internal error"])
def test_a_failing_post_merge_warns_and_git_merges(feature: Path, failure: str) -> None:
    breaks, problem, todo = FAILURES[failure]
    env = {**os.environ, **breaks(feature)}
    merged = subprocess.run(
        ["git", "merge", "-q", "--ff-only", "feature"],
        cwd=feature,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert merged.returncode == 0, merged.stderr
    assert git(feature, "rev-parse", "main") == git(feature, "rev-parse", "feature")
    assert (feature / "train.py").read_text() == "print('train on feature')\n"
    assert "mlv: warning: data not updated" in merged.stderr and problem in merged.stderr
    assert todo in merged.stderr


def test_post_checkout_says_when_mlv_is_busy(feature: Path) -> None:
    """Another mlv process holds the repository: the hook waits briefly, then says so."""
    import fcntl

    with open(feature / ".mlv/lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        env = {**os.environ, "MLV_LOCK_TIMEOUT": "0.2"}  # the hook waits at most this long
        switched = subprocess.run(
            ["git", "checkout", "feature"],
            cwd=feature,
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    assert switched.returncode == 0, switched.stderr
    assert git(feature, "branch", "--show-current") == "feature"
    assert "mlv: warning: data not updated: another mlv process" in switched.stderr
    assert "run `mlv checkout` once it is done" in switched.stderr
    assert (feature / "data/raw/a.csv").read_text() == "v1\n"


def test_post_checkout_does_not_wait_a_minute_for_gc(feature: Path) -> None:
    """gc holds the object store (default MLV_LOCK_TIMEOUT, 60 s): the hook gives up after its
    own short cap, as it does for the repository lock, and git's checkout is done."""
    import fcntl

    store_lock = feature / ".mlv/cache/lock"
    store_lock.parent.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "MLV_LOCK_TIMEOUT"}
    with open(store_lock, "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        switched = subprocess.run(
            ["git", "checkout", "feature"],
            cwd=feature,
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=40,  # the old hook waited the full 60 s here
        )
    assert switched.returncode == 0, switched.stderr
    assert git(feature, "branch", "--show-current") == "feature"
    assert "mlv: warning: data not updated:" in switched.stderr
    assert "object store" in switched.stderr


def test_debug_shows_the_traceback_and_git_still_succeeds(feature: Path) -> None:
    _stat_cache_corrupt(feature)
    switched = subprocess.run(
        ["git", "checkout", "feature"],
        cwd=feature,
        capture_output=True,
        text=True,
        env={**os.environ, "MLV_DEBUG": "1"},
        check=False,
    )
    assert switched.returncode == 0, switched.stderr
    assert "mlv: warning: data not updated: internal error" in switched.stderr
    assert "Traceback (most recent call last)" in switched.stderr
    assert "sqlite3.DatabaseError" in switched.stderr


def _shim_python(root: Path, hook: str, python: Path) -> None:
    """Point an installed shim at another interpreter (one that is not mlv's)."""
    shim = root / ".git/hooks" / hook
    text = shim.read_text()
    start = text.index("INSTALL_PYTHON=")
    end = text.index("\n", start)
    shim.write_text(text[:start] + f"INSTALL_PYTHON={python}" + text[end:])


def test_shim_keeps_git_going_when_mlv_cannot_start(feature: Path, tmp_path: Path) -> None:
    """Even when mlv fails before it can catch anything (a broken installation), post-checkout
    exits 0 and pre-commit says how to bypass it."""
    broken = write(tmp_path / "broken-python", "#!/bin/sh\necho 'ImportError: boom' >&2\nexit 3\n")
    broken.chmod(0o755)
    for hook in ("post-checkout", "pre-commit"):
        _shim_python(feature, hook, broken)
    switched = git_rc(feature, "checkout", "feature")
    assert switched.returncode == 0, switched.stderr
    assert git(feature, "branch", "--show-current") == "feature"
    assert "the post-checkout hook failed" in switched.stderr
    assert "mlv checkout" in switched.stderr

    write(feature / "train.py", "print('v3')\n")
    refused = git_rc(feature, "commit", "-qam", "v3")
    assert refused.returncode == 1
    assert "ImportError: boom" in refused.stderr
    assert "to commit anyway, once: git commit --no-verify" in refused.stderr


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
    assert f"xxh128:{tree}" in store_objects(data_remote)  # in a pack

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
