"""Remotes through the CLI: a directory remote and a real S3-compatible server on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlv.model.ids import ObjectId
from mlv.storage.hashing import hash_file
from tests.conftest import MlvRunner, git, tree_snapshot, write
from tests.crash import assert_store_consistent, store_objects
from tests.s3server import create_bucket, moto_server, seaweed_server


def make_data(root: Path, files: int = 20, size: int = 3000) -> None:
    for i in range(files):
        write(root / f"data/raw/part{i % 4}/f{i}.bin", os.urandom(size))
    write(root / "models/m.pkl", os.urandom(5000))


def snapshot_with_remote(root: Path, mlv: MlvRunner, url: str, *extra: str) -> None:
    make_data(root)
    assert mlv("track", "data/raw", "models/m.pkl").code == 0
    assert mlv("remote", "add", "origin", url, *extra).code == 0
    assert mlv("snapshot", "-m", "data v1").code == 0


def clone(src: Path, dst: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    git(src.parent, "clone", "-q", str(src), str(dst))
    monkeypatch.chdir(dst)
    return dst


def remote_objects(root: Path) -> dict[str, Path]:
    # The objects of a directory remote (none before the first push, when it may not exist).
    return store_objects(root) if root.exists() else {}


def test_directory_remote_push_pull_round_trip(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = tmp_path / "shared-remote"
    snapshot_with_remote(project, mlv, str(remote))
    first = mlv("push", "--json")
    assert first.code == 0, first.err
    doc = json.loads(first.out)
    assert doc["transferred"] == len(remote_objects(remote)) > 20 and doc["complete"]
    assert doc["packs"] == 1 and doc["format_raised"]  # small objects: one pack
    assert sorted(p.suffix for p in (remote / "packs").iterdir()) == [".idx", ".pack"]
    second = json.loads(mlv("push", "--json").out)
    assert second["transferred"] == 0 and second["already_there"] == doc["transferred"]
    assert second["packs"] == 0 and not second["format_raised"]
    assert not list((remote / "tmp").glob("*")) if (remote / "tmp").exists() else True
    assert_store_consistent(remote)

    expected = tree_snapshot(project / "data") | tree_snapshot(project / "models")
    other = clone(project, tmp_path / "fresh", monkeypatch)
    result = mlv("pull")
    assert result.code == 0, result.err
    assert tree_snapshot(other / "data") | tree_snapshot(other / "models") == expected
    assert mlv("status", "--check").code == 0
    verified = mlv("verify", "--remote", "origin", "--json")
    assert verified.code == 0 and json.loads(verified.out)["remote_missing"] == []


def test_fetch_only_what_a_revision_needs(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = tmp_path / "r"
    snapshot_with_remote(project, mlv, str(remote))
    write(project / "models/m.pkl", b"v2 model")
    mlv("snapshot", "-m", "v2")
    assert mlv("push", "HEAD~1", "HEAD").code == 0
    clone(project, tmp_path / "c", monkeypatch)
    fetched = json.loads(mlv("fetch", "HEAD", "--json").out)
    have = set(store_objects(tmp_path / "c/.mlv/cache"))
    assert len(have) == fetched["transferred"]
    assert str(hash_file(project / "models/m.pkl")) in have
    old_model = json.loads(git(project, "show", "HEAD~1:mlv.lock"))["artifacts"]["models/m.pkl"]
    assert old_model["id"] not in have  # HEAD~1's model was not needed


def push_with_a_tampered_model(project: Path, mlv: MlvRunner, remote: Path) -> str:
    """Push to a directory remote, then damage the model's copy there; its id."""
    snapshot_with_remote(project, mlv, str(remote))
    assert mlv("push", "--loose").code == 0  # format 1: the model is a file of its own
    model_id = str(hash_file(project / "models/m.pkl"))
    bad = remote_objects(remote)[model_id]
    bad.chmod(0o644)
    bad.write_bytes(b"tampered")
    return model_id


def test_corrupt_object_on_remote_is_refused(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = tmp_path / "r"
    model_id = push_with_a_tampered_model(project, mlv, remote)
    other = clone(project, tmp_path / "c", monkeypatch)
    result = mlv("pull")
    assert result.code == 1
    assert "did not match their ids and were refused" in result.err and model_id in result.err
    assert not (other / ".mlv/cache").joinpath(*model_id.split(":")[1:]).exists()
    assert not (other / "models/m.pkl").exists()  # nothing was checked out


def test_fetch_counts_a_corrupt_download_once_and_nothing_as_already_there(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = tmp_path / "r"
    model_id = push_with_a_tampered_model(project, mlv, remote)
    clone(project, tmp_path / "c", monkeypatch)
    fetched = json.loads(mlv("fetch", "--json").out)
    assert fetched["corrupt"] == [model_id]  # tried once, not again in the second round
    assert fetched["already_there"] == 0  # a fresh clone had nothing
    assert fetched["transferred"] == len(remote_objects(remote)) - 1


@pytest.mark.slow
def test_interrupted_push_resumes_and_leaves_nothing_corrupt(
    project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    remote = tmp_path / "r"
    for i in range(400):
        write(project / f"data/raw/f{i}.bin", os.urandom(64 * 1024))
    mlv("track", "data/raw")
    mlv("remote", "add", "origin", str(remote))
    mlv("snapshot", "-m", "many files")
    kills = 0
    for _ in range(3):
        # Kill once the remote has grown by 40 more objects: a moment mid-transfer however
        # loaded the machine is (a fixed delay could fall before the first upload or after
        # the last).
        target = len(remote_objects(remote)) + 40
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlv", "push", "--loose", "-j", "1"],
            cwd=project,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        while proc.poll() is None and len(remote_objects(remote)) < target:
            time.sleep(0.01)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        for oid, path in remote_objects(remote).items():  # never a partial object
            assert str(hash_file(path)) == oid
    assert kills >= 1, "push finished before it could be interrupted"
    result = mlv("push", "--json")  # the rest in a pack: a remote may hold both
    assert result.code == 0 and json.loads(result.out)["complete"]
    assert len(remote_objects(remote)) == 402  # 400 files, the tree, the code patch
    assert mlv("verify", "--remote", "origin").code == 0


def test_remote_management_and_errors(project: Path, mlv: MlvRunner, tmp_path: Path) -> None:
    assert mlv("push").code == 2  # nothing to push yet: no mlv.lock
    write(project / "d.csv", "1")
    mlv("track", "d.csv")
    mlv("snapshot")
    result = mlv("push")
    assert result.code == 2 and "no remote is configured" in result.err
    creds = mlv("remote", "add", "s3", "s3://AKIA:s3cr3tValue@bucket/x")
    assert creds.code == 2 and "contains credentials" in creds.err
    assert "s3cr3tValue" not in creds.out + creds.err and "***" in creds.err
    assert "AKIA" not in (project / "mlv.toml").read_text()
    assert mlv("remote", "add", "a", str(tmp_path / "a")).code == 0
    assert mlv("remote", "add", "b", str(tmp_path / "b"), "--default").code == 0
    listing = mlv("remote", "list").out
    assert "a " in listing and "b " in listing
    assert mlv("push").code == 0 and (tmp_path / "b/packs").exists()
    assert not (tmp_path / "a/packs").exists()
    assert mlv("push", "-r", "a").code == 0 and (tmp_path / "a/packs").exists()
    assert mlv("remote", "add", "a", str(tmp_path / "x")).code == 2
    assert mlv("remote", "remove", "a").code == 0
    assert mlv("push", "-r", "a").code == 2
    missing = mlv("remote", "remove", "nope")
    assert missing.code == 2 and "no remote named" in missing.err


# --- S3, against a real S3-compatible server on loopback ----------------------------------


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real SeaweedFS server on loopback, one per test process (pytest-xdist worker)."""
    with seaweed_server(tmp_path_factory.mktemp("seaweed")) as endpoint:
        yield endpoint


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)


def test_s3_push_fetch_pull_verify(
    project: Path,
    mlv: MlvRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    s3_endpoint: str,
    s3_env: None,
) -> None:
    create_bucket(s3_endpoint, "team-bucket")
    snapshot_with_remote(project, mlv, "s3://team-bucket/mlv", "--endpoint-url", s3_endpoint)
    pushed = mlv("push", "--json")
    assert pushed.code == 0, pushed.err
    count = json.loads(pushed.out)["transferred"]
    assert count > 20
    assert json.loads(mlv("push", "--json").out)["transferred"] == 0
    assert mlv("verify", "--remote", "origin").code == 0

    expected = tree_snapshot(project / "data") | tree_snapshot(project / "models")
    other = clone(project, tmp_path / "c", monkeypatch)
    fetched = mlv("fetch", "--json")
    assert fetched.code == 0, fetched.err
    assert json.loads(fetched.out)["transferred"] == count
    assert mlv("pull").code == 0
    assert tree_snapshot(other / "data") | tree_snapshot(other / "models") == expected

    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    model_id = ObjectId.parse(str(hash_file(other / "models/m.pkl")))
    listed = s3.list_objects_v2(Bucket="team-bucket", Prefix="mlv/packs/")["Contents"]
    kinds = {o["Key"].rpartition(".")[2] for o in listed}
    assert kinds - {"keep"} == {"idx", "pack"}  # a .keep: a pack a push relied on
    for item in listed:  # the pack's index gone: it holds nothing (its index was cached)
        if item["Key"].endswith(".idx"):
            s3.delete_object(Bucket="team-bucket", Key=item["Key"])
    gap = mlv("verify", "--remote", "origin", "--json")
    assert gap.code == 1 and model_id in json.loads(gap.out)["remote_missing"]


def test_s3_errors_are_one_line(
    project: Path, mlv: MlvRunner, s3_endpoint: str, s3_env: None
) -> None:
    write(project / "d.csv", "1")
    mlv("track", "d.csv")
    mlv("snapshot")
    mlv("remote", "add", "nobucket", "s3://no-such-bucket/x", "--endpoint-url", s3_endpoint)
    result = mlv("push", "-r", "nobucket")
    assert result.code == 2 and "does not exist" in result.err and "hint:" in result.err
    assert "Traceback" not in result.err
    from tests.s3server import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    mlv("remote", "add", "dead", "s3://b/x", "--endpoint-url", dead)
    result = mlv("push", "-r", "dead")
    assert result.code == 1 and "unreachable" in result.err, result.err


@pytest.mark.slow
def test_s3_bad_credentials(
    project: Path, mlv: MlvRunner, s3_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A second server that checks credentials: unknown keys are refused.
    with moto_server({"INITIAL_NO_AUTH_ACTION_COUNT": "0"}) as endpoint:
        write(project / "d.csv", "1")
        mlv("track", "d.csv")
        mlv("snapshot")
        mlv("remote", "add", "locked", "s3://locked/x", "--endpoint-url", endpoint)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG1")
        secret = "wrongSecretKey/DISTINCTIVE+0123456789abcdef"
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
        result = mlv("push", "-r", "locked")
        assert result.code == 2, result.err
        assert "access denied" in result.err or "credentials" in result.err
        assert "hint:" in result.err and "Traceback" not in result.err
        assert secret not in result.out + result.err  # the error line never shows the key


def test_any_fsspec_protocol_works_without_code_of_ours(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # fsspec's in-memory filesystem lives as long as this process: a remote for one test.
    snapshot_with_remote(project, mlv, "memory://mlv-test-remote/store")
    assert mlv("push").code == 0
    expected = tree_snapshot(project / "data")
    other = clone(project, tmp_path / "c", monkeypatch)
    assert mlv("pull").code == 0
    assert tree_snapshot(other / "data") == expected
    assert mlv("verify", "--remote", "origin").code == 0
