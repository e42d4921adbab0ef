"""gc never deletes committed history unless asked to, and then only what a remote also holds."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from mlv.model.ids import ObjectId
from mlv.storage.hashing import hash_bytes
from mlv.storage.store import ObjectStore
from tests.conftest import MlvRunner, git, write
from tests.crash import store_objects
from tests.stored import overwrite_object


def stored(root: Path) -> set[str]:
    return set(store_objects(root / ".mlv/cache"))


def version(root: Path, mlv: MlvRunner, text: str, *, commit: bool = True) -> set[str]:
    """d/a holds ``text`` (d/b never changes); snapshot it. The ids only this version has: d/a's
    content and d's tree."""
    write(root / "d/a", text)
    args = ("snapshot", "-m", text) if commit else ("snapshot", "--no-commit")
    assert mlv(*args).code == 0
    tree = json.loads((root / "mlv.lock").read_text())["artifacts"]["d"]["id"]
    return {str(hash_bytes(text.encode())), tree}


def tracked(project: Path, mlv: MlvRunner) -> None:
    write(project / "d/b", "never changes\n")
    write(project / "d/a", "start\n")
    assert mlv("track", "d").code == 0


def size_of(root: Path, ids: set[str]) -> int:
    store = ObjectStore(root / ".mlv/cache")
    return sum(store.size_of(ObjectId.parse(i)) for i in ids)


def forget_reflogs(root: Path) -> None:
    """As git does after 90 days: only refs still reach a commit."""
    git(root, "reflog", "expire", "--expire=now", "--expire-unreachable=now", "--all")


def gc_json(mlv: MlvRunner, *args: str) -> dict[str, object]:
    result = mlv("gc", "--json", *args)
    assert result.code == 0, result.err
    doc: dict[str, object] = json.loads(result.out)
    return doc


def test_gc_keeps_the_previous_snapshot(project: Path, mlv: MlvRunner) -> None:
    """The reported defect: gc removed HEAD~1's objects, which no remote ever held."""
    tracked(project, mlv)
    one = version(project, mlv, "one\n")
    version(project, mlv, "two\n")
    assert gc_json(mlv)["removed_objects"] == 0
    assert one <= stored(project)
    done = mlv("checkout", "HEAD~1")
    assert done.code == 0, done.err
    assert (project / "d/a").read_text() == "one\n"


def test_gc_removes_what_no_revision_reaches(project: Path, mlv: MlvRunner) -> None:
    tracked(project, mlv)
    kept = version(project, mlv, "one\n")
    garbage = version(project, mlv, "never committed\n", commit=False)
    git(project, "checkout", "--", "mlv.lock")  # the only mention of it is gone
    doc = gc_json(mlv)
    assert doc["removed_objects"] == 2 and doc["scope"] == ["history"]
    assert not garbage & stored(project) and kept <= stored(project)
    assert doc["unbacked_objects"] == 0


def test_gc_keeps_a_merged_then_deleted_branch(project: Path, mlv: MlvRunner) -> None:
    """The branch's mlv.lock lost the merge, so its versions are reachable only through the
    merge's second parent: git's history simplification alone would skip them."""
    tracked(project, mlv)
    version(project, mlv, "base\n")
    git(project, "checkout", "-q", "-b", "feature")
    first = version(project, mlv, "feature 1\n")
    second = version(project, mlv, "feature 2\n")
    feature_1 = git(project, "rev-parse", "HEAD~1")
    git(project, "checkout", "-q", "main")
    assert mlv("checkout").code == 0
    version(project, mlv, "main\n")
    git(project, "merge", "-q", "-s", "ours", "-m", "merge feature, keep main's data", "feature")
    git(project, "branch", "-q", "-D", "feature")
    forget_reflogs(project)
    assert gc_json(mlv)["removed_objects"] == 0
    assert first | second <= stored(project)
    assert mlv("checkout", feature_1).code == 0
    assert (project / "d/a").read_text() == "feature 1\n"


def test_gc_keeps_what_only_the_reflog_reaches(project: Path, mlv: MlvRunner) -> None:
    tracked(project, mlv)
    version(project, mlv, "one\n")
    two = version(project, mlv, "two\n")
    git(project, "reset", "-q", "--hard", "HEAD~1")  # "two" is in the reflog only
    assert mlv("checkout").code == 0
    assert gc_json(mlv)["removed_objects"] == 0
    assert two <= stored(project)
    assert mlv("checkout", "HEAD@{1}").code == 0
    assert (project / "d/a").read_text() == "two\n"


def test_gc_keeps_what_only_a_stash_reaches(project: Path, mlv: MlvRunner) -> None:
    tracked(project, mlv)
    version(project, mlv, "one\n")
    older = version(project, mlv, "experiment 1\n", commit=False)
    git(project, "stash", "-q")
    latest = version(project, mlv, "experiment 2\n", commit=False)
    git(project, "stash", "-q")  # the first is stash@{1} now: in the stash's reflog only
    assert mlv("checkout").code == 0  # back to "one"
    assert gc_json(mlv)["removed_objects"] == 0
    assert older | latest <= stored(project)
    git(project, "stash", "drop", "-q")
    git(project, "stash", "pop", "-q")
    assert mlv("checkout").code == 0
    assert (project / "d/a").read_text() == "experiment 1\n"


def test_gc_keeps_what_only_a_tag_reaches(project: Path, mlv: MlvRunner) -> None:
    tracked(project, mlv)
    version(project, mlv, "one\n")
    git(project, "checkout", "-q", "-b", "try")
    tagged = version(project, mlv, "tried\n")
    git(project, "tag", "-a", "-m", "tried it", "tried")
    git(project, "checkout", "-q", "main")
    git(project, "branch", "-q", "-D", "try")
    assert mlv("checkout").code == 0
    forget_reflogs(project)
    assert gc_json(mlv)["removed_objects"] == 0
    assert tagged <= stored(project)
    assert mlv("checkout", "tried").code == 0


def test_gc_keeps_the_staged_mlv_lock(project: Path, mlv: MlvRunner) -> None:
    """A version staged (git add) but not committed, then snapshotted over in the work tree:
    the next commit would record it, so gc keeps it, even in the narrowest scope."""
    tracked(project, mlv)
    version(project, mlv, "one\n")
    staged = version(project, mlv, "staged\n", commit=False)
    git(project, "add", "mlv.lock")
    version(project, mlv, "work tree\n", commit=False)
    assert gc_json(mlv)["removed_objects"] == 0
    assert gc_json(mlv, "--workspace", "--force")["removed_objects"] == 0
    assert staged <= stored(project)
    git(project, "checkout", "--", "mlv.lock")
    assert mlv("checkout").code == 0
    assert (project / "d/a").read_text() == "staged\n"


def test_a_narrowed_scope_removes_unbacked_history_only_when_forced(
    project: Path, mlv: MlvRunner
) -> None:
    tracked(project, mlv)
    one = version(project, mlv, "one\n")
    two = version(project, mlv, "two\n")
    sizes = size_of(project, one)

    before = stored(project)
    dry = gc_json(mlv, "--workspace", "--dry-run", "--force")
    assert dry["removed_objects"] == 2 and stored(project) == before

    kept = mlv("gc", "--workspace")  # not a terminal: nothing asked, history kept
    assert kept.code == 0, kept.err
    assert stored(project) == before
    assert "kept 2 object(s)" in kept.err and "no remote holds" in kept.err
    assert "--force" in kept.err
    doc = gc_json(mlv, "--workspace")
    assert doc["unbacked_objects"] == 2 and doc["unbacked_bytes"] == sizes
    assert doc["unbacked_removed"] is False and doc["removed_objects"] == 0

    doc = gc_json(mlv, "--workspace", "--force")
    assert doc["removed_objects"] == 2 and doc["unbacked_removed"] is True
    assert not one & stored(project) and two <= stored(project)
    assert mlv("checkout", "HEAD~1").code == 1  # what --force means


def test_the_narrowed_scopes_keep_what_they_name(project: Path, mlv: MlvRunner) -> None:
    tracked(project, mlv)
    version(project, mlv, "start\n")
    git(project, "branch", "side")
    tagged = version(project, mlv, "tagged\n")
    git(project, "tag", "v1")
    old = version(project, mlv, "old\n")
    current = version(project, mlv, "current\n")
    everything = stored(project)

    def would_remove(*flags: str) -> object:
        return gc_json(mlv, "--dry-run", "--force", *flags)["removed_objects"]

    assert would_remove("--all-commits") == 0
    assert would_remove("--all-tags") == 4  # "start" and "old"
    assert would_remove("--all-branches") == 4  # "tagged" and "old"
    assert would_remove("--workspace") == 6
    assert stored(project) == everything
    doc = gc_json(mlv, "--all-branches", "--all-tags", "--force")
    assert doc["scope"] == ["all-branches", "all-tags"] and doc["removed_objects"] == 2
    assert stored(project) == everything - old
    assert tagged | current <= stored(project)
    assert mlv("checkout", "side").code == 0 and mlv("checkout", "v1").code == 0


def test_history_a_remote_holds_goes_without_force(project: Path, mlv: MlvRunner) -> None:
    tracked(project, mlv)
    assert mlv("remote", "add", "origin", "../remote", "--default").code == 0
    one = version(project, mlv, "one\n")
    assert mlv("push").code == 0
    unpushed = version(project, mlv, "two\n")
    version(project, mlv, "three\n")
    doc = gc_json(mlv, "--workspace")
    assert doc["removed_objects"] == 2 and doc["unbacked_objects"] == 2
    assert not one & stored(project) and unpushed <= stored(project)
    assert mlv("pull", "HEAD~2").code == 0  # the remote's copy brings it back
    assert (project / "d/a").read_text() == "one\n"


def test_a_remote_that_cannot_be_asked_holds_nothing(project: Path, mlv: MlvRunner) -> None:
    tracked(project, mlv)
    assert mlv("remote", "add", "origin", "../remote", "--default").code == 0
    one = version(project, mlv, "one\n")
    assert mlv("push", "--loose").code == 0  # format 1: one file per object
    version(project, mlv, "two\n")
    remote = project.parent / "remote"
    (remote / "xxh128").rename(project.parent / "elsewhere")
    (remote / "xxh128").symlink_to(project.parent / "elsewhere")  # mlv never follows a link
    result = mlv("gc", "--workspace")
    assert result.code == 0
    assert "remote origin could not be checked" in result.err
    assert "counted as holding nothing" in result.err and "kept 2 object(s)" in result.err
    assert one <= stored(project)


def test_a_remote_copy_of_the_wrong_size_is_no_backup(project: Path, mlv: MlvRunner) -> None:
    """A remote listing an object's name is not enough: emptied (a disk that lost it, a
    partial copy by another tool), it cannot give the object back."""
    tracked(project, mlv)
    assert mlv("remote", "add", "origin", "../remote", "--default").code == 0
    one = version(project, mlv, "one\n")
    assert mlv("push", "--loose").code == 0  # format 1: one file per object
    version(project, mlv, "two\n")
    for path in (project.parent / "remote" / "xxh128").rglob("*"):
        if path.is_file():
            path.chmod(0o644)
            path.write_bytes(b"")
    doc = gc_json(mlv, "--workspace")
    assert doc["removed_objects"] == 0 and doc["unbacked_objects"] == 2
    assert one <= stored(project)
    assert mlv("checkout", "HEAD~1").code == 0  # still restorable from the local store


def test_another_projects_remote_is_no_backup(tmp_path: Path) -> None:
    """Two work trees share a store; only B declares a remote and pushed. A's own history,
    though B's remote holds the same objects, cannot be fetched back by A: gc in A keeps it."""
    from tests.test_concurrency import run_mlv, shared_pair

    a, b, _cache = shared_pair(tmp_path)
    write(a / "data/x.csv", "same\n")
    assert run_mlv(a, "snapshot", "-m", "A one").returncode == 0
    ids = {str(hash_bytes(b"same\n"))}
    write(a / "data/x.csv", "A two\n")
    assert run_mlv(a, "snapshot", "-m", "A two").returncode == 0
    assert run_mlv(b, "remote", "add", "theirs", str(tmp_path / "theirs")).returncode == 0
    write(b / "data/x.csv", "same\n")
    assert run_mlv(b, "snapshot", "-m", "B").returncode == 0
    assert run_mlv(b, "push").returncode == 0
    assert ids <= set(store_objects(tmp_path / "theirs"))
    # B's work tree still needs the object, so move B on and drop its need for it.
    write(b / "data/x.csv", "B two\n")
    assert run_mlv(b, "snapshot", "-m", "B two").returncode == 0
    done = run_mlv(a, "gc", "--workspace", "--json")
    assert done.returncode == 0, done.stderr
    assert ids <= set(store_objects(_cache))  # A cannot pull it from B's remote: kept


def test_force_needs_a_narrowed_scope(project: Path, mlv: MlvRunner) -> None:
    result = mlv("gc", "--force")
    assert result.code == 2
    assert "narrowed scope" in result.err and "hint: add --workspace" in result.err


def answer_in_a_terminal(cwd: Path, answer: str, *args: str) -> tuple[int, str]:
    """Run mlv with a real pseudo-terminal as its stdin, stdout and stderr; answer its prompt."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlv", *args],
        cwd=cwd,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=dict(os.environ, NO_COLOR="1", COLUMNS="300"),
    )
    os.close(slave)
    seen = b""
    answered = False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the process closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            if not answered and b"anyway?" in seen:
                os.write(master, f"{answer}\n".encode())
                answered = True
            if not ready and proc.poll() is not None:
                break
        code = proc.wait(timeout=60)
    finally:
        os.close(master)
    assert answered, seen
    return code, seen.decode(errors="replace").replace("\r\n", "\n")


def test_gc_asks_in_a_terminal(project: Path, mlv: MlvRunner) -> None:
    tracked(project, mlv)
    one = version(project, mlv, "one\n")
    version(project, mlv, "two\n")
    size = size_of(project, one)

    code, text = answer_in_a_terminal(project, "n", "gc", "--workspace")
    assert code == 0, text
    assert f"2 object(s), {size} B, that committed history needs are on no remote" in text
    assert "kept 2 object(s)" in text and one <= stored(project)

    code, text = answer_in_a_terminal(project, "y", "gc", "--workspace")
    assert code == 0, text
    assert "removed 2 object(s)" in text and not one & stored(project)


def test_an_unreadable_mlv_lock_in_history_keeps_what_it_names(
    project: Path, mlv: MlvRunner
) -> None:
    """Committed mid-conflict: mlv cannot read it, but its ids (and its trees' files) stay."""
    tracked(project, mlv)
    version(project, mlv, "one\n")
    broken = version(project, mlv, "two\n", commit=False)
    lock = project / "mlv.lock"
    lock.write_text("<<<<<<< HEAD\n" + lock.read_text() + "=======\n>>>>>>> other\n")
    git(project, "commit", "-q", "-am", "a conflict committed by mistake")
    git(project, "checkout", "HEAD~1", "--", "mlv.lock")
    git(project, "commit", "-q", "-m", "fixed")
    assert mlv("checkout").code == 0
    version(project, mlv, "three\n")
    assert gc_json(mlv)["removed_objects"] == 0
    assert broken <= stored(project)  # the tree, and d/a's content that only the tree lists


def test_a_damaged_tree_in_history_stops_gc(project: Path, mlv: MlvRunner) -> None:
    tracked(project, mlv)
    one = version(project, mlv, "one\n")
    version(project, mlv, "two\n")
    (tree,) = one - {str(hash_bytes(b"one\n"))}
    overwrite_object(
        project / ".mlv/cache",
        tree,
        b'{"format":1,"entries":[["x","not an id",1,false]],"empty_dirs":[]}',
    )
    before = stored(project)
    for args in (("gc",), ("gc", "--workspace", "--force")):
        stopped = mlv(*args)
        assert stopped.code == 1 and "removed nothing" in stopped.err, stopped.err
        assert stored(project) == before
