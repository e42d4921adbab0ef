"""gc keeps exactly what kept revisions need; verify finds corrupt and missing objects."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from mlv.storage.hashing import hash_bytes
from mlv.storage.store import ObjectStore
from tests.conftest import MlvRunner, git, write
from tests.crash import store_objects
from tests.stored import damage_packed, delete_object


def store_ids(root: Path) -> set[str]:
    return set(store_objects(root / ".mlv/cache"))


def version(root: Path, mlv: MlvRunner, tag: str) -> dict[str, str]:
    """Write a distinct data version, snapshot it; the ids of its files."""
    files = {f"data/{tag}-{i}.csv": f"{tag} {i}\n" for i in range(3)}
    files["data/shared.csv"] = "shared by every version\n"
    for rel, text in files.items():
        write(root / rel, text)
    for stale in (root / "data").glob("*.csv"):
        if f"data/{stale.name}" not in files:
            stale.unlink()
    assert mlv("snapshot", "-m", tag).code == 0
    return {rel: str(hash_bytes(text.encode())) for rel, text in files.items()}


def test_gc_keeps_exactly_what_kept_revisions_need(project: Path, mlv: MlvRunner) -> None:
    write(project / "data/shared.csv", "x")
    write(project / "requirements.txt", "numpy==2\n")
    git(project, "add", "requirements.txt")
    mlv("track", "data")
    on_branch = version(project, mlv, "branch")
    git(project, "branch", "feature")
    on_tag = version(project, mlv, "tagged")
    git(project, "tag", "v1")
    old = version(project, mlv, "old")  # only in history: main~1 after the next snapshot
    current = version(project, mlv, "current")
    lock = json.loads((project / "mlv.lock").read_text())
    tree_id = lock["artifacts"]["data"]["id"]
    lockfile_id = lock["environment"]["lockfiles"]["requirements.txt"]
    patch_id = lock["code"]["patch"]

    garbage = ObjectStore(project / ".mlv/cache").add_bytes(b"no revision names this\n")

    def everything_of(ids: dict[str, str]) -> set[str]:
        return set(ids.values())

    before = store_ids(project)
    dry = mlv("gc", "--dry-run", "--json")
    assert dry.code == 0
    assert store_ids(project) == before  # a dry run changes nothing
    assert json.loads(dry.out)["removed_objects"] == 1

    assert mlv("gc").code == 0  # the default keeps all history: only the garbage goes
    assert store_ids(project) == before - {garbage}

    assert mlv("gc", "--all-commits").code == 0
    assert everything_of(old) <= store_ids(project)  # every commit kept

    before = store_ids(project)
    unforced = mlv("gc", "--all-branches", "--json")  # no remote holds the rest: kept
    assert unforced.code == 0 and store_ids(project) == before
    assert json.loads(unforced.out)["unbacked_objects"] > 0

    assert mlv("gc", "--all-branches", "--force").code == 0
    kept = store_ids(project)
    assert everything_of(on_branch) | everything_of(current) <= kept
    assert not everything_of(old) - everything_of(current) & kept
    assert not (everything_of(on_tag) - everything_of(current)) & kept

    assert mlv("gc", "--workspace", "--force").code == 0
    kept = store_ids(project)
    assert everything_of(current) <= kept
    assert {tree_id, lockfile_id, patch_id} <= kept  # tree, lockfile and patch objects too
    assert not (everything_of(on_branch) - everything_of(current)) & kept
    assert mlv("status", "--check").code == 0
    assert mlv("verify").code == 0

    assert mlv("checkout", "v1").code == 1  # gone from the store now: a clear error
    # Keeping the tag now is impossible: its tree is gone, so gc refuses to guess.
    refused = mlv("gc", "--all-tags")
    assert refused.code == 1 and "removed nothing" in refused.err
    # The default keeps history as far as this store holds it: a revision whose tree is gone
    # has nothing here to keep (as in a clone that fetched only the latest version).
    assert mlv("gc").code == 0
    assert store_ids(project) == kept


def test_gc_stops_when_a_kept_tree_is_missing(project: Path, mlv: MlvRunner) -> None:
    write(project / "data/a.csv", "a")
    mlv("track", "data")
    mlv("snapshot")
    tree_id = json.loads((project / "mlv.lock").read_text())["artifacts"]["data"]["id"]
    delete_object(project / ".mlv/cache", tree_id)
    before = store_ids(project)
    result = mlv("gc")
    assert result.code == 1 and "removed nothing" in result.err
    assert store_ids(project) == before


def test_verify_reports_corrupt_and_missing(project: Path, mlv: MlvRunner) -> None:
    write(project / "data/a.csv", "a")
    write(project / "data/b.csv", "b")
    mlv("track", "data")
    mlv("snapshot")
    assert mlv("verify").code == 0
    a, b = hash_bytes(b"a"), hash_bytes(b"b")
    delete_object(project / ".mlv/cache", b)
    damage_packed(project / ".mlv/cache", a, "zeroed")
    result = mlv("verify", "--json")
    assert result.code == 1
    doc = json.loads(result.out)
    assert doc["corrupt"] == [a] and doc["missing"] == [b]
    human = mlv("verify")
    assert human.code == 1 and f"corrupt: {a}" in human.out and f"missing: {b}" in human.out


def test_gc_removes_old_debris_of_killed_commands_only(project: Path, mlv: MlvRunner) -> None:
    write(project / "d.csv", "1\n")
    mlv("track", "d.csv")
    assert mlv("snapshot").code == 0
    two_days_ago = time.time() - 2 * 24 * 3600
    old_object_part = write(project / ".mlv/cache/tmp/.abc.0123.mlv-tmp", b"partial object")
    old_lock_part = write(project / ".mlv/tmp/.mlv.lock.4567.mlv-tmp", b'{"sche')
    old_marker = write(project / ".mlv/tmp/running-train", b"{}")  # state, not debris
    fresh = write(project / ".mlv/tmp/.mlv.toml.89ab.mlv-tmp", b"being written now")
    for path in (old_object_part, old_lock_part, old_marker):
        os.utime(path, (two_days_ago, two_days_ago))
    assert mlv("gc").code == 0
    assert not old_object_part.exists() and not old_lock_part.exists()
    assert old_marker.exists() and fresh.exists()
