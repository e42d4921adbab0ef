"""Secrets never reach the repository, the store or the terminal (issue #7).

Each test plants distinctive secret values where a user really has them (the process
environment, a URL typed on the command line, a hand-edited mlv.toml), runs the real CLI, and
greps everything mlv wrote or printed for them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlv.adapters.remote import RemoteError, translate_errors
from mlv.errors import UsageError
from tests.conftest import MlvRunner, Result, git, write
from tests.s3server import free_port

SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-K7MDENG-bPxRfiCYzzSECRET1",
    "GITHUB_TOKEN": "ghp_SECRETtoken0123456789abcdefABCDEF",
    "MY_PASSWORD": "correct-horse-battery-SECRET3",
}


def set_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


def allow(root: Path, *names: str) -> None:
    toml = root / "mlv.toml"
    listed = ", ".join(json.dumps(n) for n in names)
    text = toml.read_text()
    assert "variables = []" in text
    toml.write_text(text.replace("variables = []", f"variables = [{listed}]"))


def leaks(text: str | bytes, *values: str) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return [v for v in values if v.encode() in data]


def printed(result: Result) -> str:
    return result.out + result.err


def assert_error(result: Result, *absent: str) -> None:
    """Exit 2 with an error: and a hint: line, and none of ``absent`` anywhere in the output."""
    assert result.code == 2, printed(result)
    assert result.err.startswith("error: ") and "\nhint: " in result.err, result.err
    assert "Traceback" not in result.err
    assert not leaks(printed(result), *absent)


# --- the environment record ---------------------------------------------------------------


def test_environment_records_allowed_variables_only(
    project: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_secrets(monkeypatch)
    monkeypatch.setenv("UNLISTED_SETTING", "not-listed-value-42")  # harmless, but not allowed
    monkeypatch.setenv("MLV_TEST_SEED", "seed-1234-allowed")
    allow(project, "MLV_TEST_SEED")
    write(project / "data.csv", "a,b\n1,2\n")
    git(project, "add", "mlv.toml")
    git(project, "commit", "-qm", "allow MLV_TEST_SEED")
    assert mlv("track", "data.csv").code == 0
    stage = mlv(
        "stage", "add", "copy", "-d", "data.csv", "-o", "out.csv", "--", "cp data.csv out.csv"
    )
    assert stage.code == 0, stage.err
    assert mlv("run").code == 0  # mlv run records the environment too
    snap = mlv("snapshot", "-m", "with secrets in the environment")
    assert snap.code == 0, snap.err

    lock = (project / "mlv.lock").read_text()
    assert json.loads(lock)["environment"]["variables"] == {"MLV_TEST_SEED": "seed-1234-allowed"}
    hidden = (*SECRETS.values(), "not-listed-value-42")
    places: dict[str, str | bytes] = {"mlv.lock": lock}
    files = [p for p in (project / ".mlv").rglob("*") if p.is_file()]
    assert any("cache" in p.parts for p in files)  # the store holds objects to grep
    places |= {str(p.relative_to(project)): p.read_bytes() for p in files}
    for args in (
        ("show", "--json"),
        ("show",),
        ("show", "HEAD", "--json"),
        ("show", "HEAD"),
        ("log", "--json"),
        ("log",),
        ("status", "--json"),
    ):
        result = mlv(*args)
        assert result.code == 0, result.err
        places[" ".join(args)] = printed(result)
    places["git log -p"] = git(project, "log", "-p", "--all", "--format=%H %s%n%b")
    places["HEAD:mlv.lock"] = git(project, "show", "HEAD:mlv.lock")
    assert "seed-1234-allowed" in places["git log -p"]  # the grep does see recorded values
    found = {where: leaks(text, *hidden) for where, text in places.items()}
    assert not {where: values for where, values in found.items() if values}


@pytest.mark.parametrize(
    "name", ["GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "MY_PASSWORD", "db_passwd", "OPENAI_API_KEY"]
)
def test_allow_listing_a_secret_name_is_refused(
    project: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    value = f"value-of-{name}-SECRET"
    monkeypatch.setenv(name, value)
    allow(project, "MLV_TEST_SEED", name)
    write(project / "data.csv", "1\n")
    before = git(project, "rev-parse", "HEAD")
    for args in (("status",), ("snapshot", "-m", "x"), ("track", "data.csv"), ("show",)):
        result = mlv(*args)
        assert_error(result, value)
        assert f"env.variables lists {name}" in result.err and "looks like a secret" in result.err
    assert not (project / "mlv.lock").exists()
    assert git(project, "rev-parse", "HEAD") == before
    # Removing it from the list is all it takes.
    allow_text = (project / "mlv.toml").read_text().replace(f', "{name}"', "")
    (project / "mlv.toml").write_text(allow_text)
    assert mlv("track", "data.csv").code == 0
    assert mlv("snapshot", "-m", "x").code == 0
    assert not leaks((project / "mlv.lock").read_text(), value)


# --- remote URLs ---------------------------------------------------------------------------

# (URL, the secret parts it carries)
BAD_URLS = [
    ("s3://bucket/p?secret=S3CRETVALUE1", ["S3CRETVALUE1"]),
    ("s3://bucket/p?region=eu&access_key=AKIAQUERYKEY77", ["AKIAQUERYKEY77"]),
    ("gs://bucket/p?token=TOKENVALUE99", ["TOKENVALUE99"]),
    ("https://host.example/store?password=PW-VALUE-77", ["PW-VALUE-77"]),
    (
        "s3://bucket/p?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAPRESIGN1%2F20240101%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Signature=abcdef0123456789presig",
        ["AKIAPRESIGN1", "abcdef0123456789presig"],
    ),
    ("az://container/p?sv=2022-11-02&sp=r&sig=AZURESASSIG0123%3D", ["AZURESASSIG0123"]),
    ("s3://AKIAUSERNAME11:PWSECRET4455@bucket/x", ["AKIAUSERNAME11", "PWSECRET4455"]),
    ("s3://AKIAONLYUSER22@bucket/x", ["AKIAONLYUSER22"]),
    ("ssh://deploy:sshpass999@host.example/store", ["sshpass999"]),
    ("simplecache::s3://AKIACHAIN33:CHAINSECRET66@bucket/x", ["AKIACHAIN33", "CHAINSECRET66"]),
]
BAD_ENDPOINTS = [
    ("http://minio:EPSECRET4242@127.0.0.1:9000", ["EPSECRET4242"]),
    ("http://127.0.0.1:9000/?X-Amz-Security-Token=EPTOKEN4343", ["EPTOKEN4343"]),
]


@pytest.mark.parametrize(("url", "secrets"), BAD_URLS)
def test_remote_add_refuses_credentials_in_the_url(
    project: Path, mlv: MlvRunner, url: str, secrets: list[str]
) -> None:
    before = (project / "mlv.toml").read_bytes()
    result = mlv("remote", "add", "r", url)
    assert_error(result, *secrets)
    assert "contains credentials" in result.err and "***" in result.err
    assert (project / "mlv.toml").read_bytes() == before
    listing = mlv("remote", "list")
    assert listing.code == 0 and "No remotes" in listing.out
    assert not leaks(printed(listing), *secrets)


@pytest.mark.parametrize(("endpoint", "secrets"), BAD_ENDPOINTS)
def test_remote_add_refuses_credentials_in_the_endpoint(
    project: Path, mlv: MlvRunner, endpoint: str, secrets: list[str]
) -> None:
    before = (project / "mlv.toml").read_bytes()
    result = mlv("remote", "add", "r", "s3://bucket/x", "--endpoint-url", endpoint)
    assert_error(result, *secrets)
    assert "endpoint URL" in result.err and "***" in result.err
    assert (project / "mlv.toml").read_bytes() == before


def test_user_names_alone_are_not_credentials(project: Path, mlv: MlvRunner) -> None:
    assert mlv("remote", "add", "git", "ssh://git@host.example/store").code == 0
    ok = mlv("remote", "add", "m", "s3://b/x", "--endpoint-url", "http://minio@127.0.0.1:9000")
    assert ok.code == 0, ok.err
    v6 = mlv("remote", "add", "v6", "s3://b/x", "--endpoint-url", "http://[::1]:9000")
    assert v6.code == 0, v6.err
    plain = mlv("remote", "add", "q", "s3://b/x?region=eu-west-1")  # a harmless parameter
    assert plain.code == 0, plain.err
    listing = mlv("remote", "list").out
    assert "ssh://git@host.example/store" in listing and "http://minio@127.0.0.1:9000" in listing


@pytest.mark.parametrize(
    ("table", "secrets"),
    [(f'url = "{url}"', s) for url, s in BAD_URLS[:4] + BAD_URLS[6:7]]
    + [(f'url = "s3://bucket/x"\nendpoint_url = "{ep}"', s) for ep, s in BAD_ENDPOINTS],
)
def test_hand_edited_credentials_are_refused(
    project: Path, mlv: MlvRunner, table: str, secrets: list[str]
) -> None:
    toml = project / "mlv.toml"
    toml.write_text(toml.read_text() + f"\n[remotes.bad]\n{table}\n")
    git(project, "add", "mlv.toml")  # staged by the user: still no snapshot may commit it
    before = toml.read_bytes()
    head = git(project, "rev-parse", "HEAD")
    for args in (("remote", "list"), ("status",), ("snapshot", "-m", "x"), ("push",)):
        result = mlv(*args)
        assert_error(result, *secrets)
        assert "mlv.toml: remotes.bad" in result.err and "contains credentials" in result.err
    assert toml.read_bytes() == before
    assert git(project, "rev-parse", "HEAD") == head
    assert not leaks(git(project, "log", "-p", "--all"), *secrets)


def test_remote_list_and_show_print_no_credentials(
    project: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    set_secrets(monkeypatch)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIALISTSHOWKEY01")
    everything = (*SECRETS.values(), "AKIALISTSHOWKEY01", "S3CRETVALUE1", "PWSECRET4455")
    assert mlv("remote", "add", "bad", "s3://AKIAUSERNAME11:PWSECRET4455@b/x").code == 2
    assert mlv("remote", "add", "bad", "s3://b/x?secret=S3CRETVALUE1").code == 2
    assert mlv("remote", "add", "dir", str(tmp_path / "remote")).code == 0
    added = mlv("remote", "add", "s3", "s3://b/x", "--endpoint-url", "http://127.0.0.1:9")
    assert added.code == 0
    write(project / "d.csv", "1\n")
    mlv("track", "d.csv")
    assert mlv("snapshot", "-m", "s").code == 0
    for args in (("remote", "list"), ("show",), ("show", "--json"), ("show", "HEAD")):
        result = mlv(*args)
        assert result.code == 0, result.err
        assert not leaks(printed(result), *everything), args
    listing = mlv("remote", "list").out
    assert "bad" not in listing and "s3://b/x" in listing
    assert not leaks((project / "mlv.toml").read_text(), *everything)


# --- errors from a remote ------------------------------------------------------------------


def test_unreachable_s3_endpoint_error_has_no_secret(
    project: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("s3fs")
    set_secrets(monkeypatch)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNREACHABLE0001")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    write(project / "d.csv", "1")
    mlv("track", "d.csv")
    mlv("snapshot")
    dead = f"http://127.0.0.1:{free_port()}"
    mlv("remote", "add", "dead", "s3://b/x", "--endpoint-url", dead)
    result = mlv("push", "-r", "dead")
    assert result.code == 1 and "unreachable" in result.err, result.err
    assert result.err.startswith("error: ") and "hint: " in result.err
    assert not leaks(printed(result), *SECRETS.values())


def test_backend_messages_are_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    # Whatever a backend quotes (a signed request URL, a header), the error line shows no secret.
    set_secrets(monkeypatch)
    key = SECRETS["AWS_SECRET_ACCESS_KEY"]
    signed = "https://b.s3.amazonaws.com/x?X-Amz-Credential=AKIASCRUB01&X-Amz-Signature=f00dcafe99"
    with pytest.raises(RemoteError) as failed, translate_errors("origin", "s3://b/x"):
        raise OSError(f"GET {signed} failed: signed with {key}\nsecond line")
    assert not leaks(failed.value.message, key, "AKIASCRUB01", "f00dcafe99")
    assert "remote origin: GET https://b.s3.amazonaws.com/x?" in failed.value.message
    with pytest.raises(UsageError) as denied, translate_errors("origin", "s3://b/x"):
        raise PermissionError(f"Forbidden: token {SECRETS['GITHUB_TOKEN']}")
    assert "access denied" in denied.value.message
    assert not leaks(denied.value.message, SECRETS["GITHUB_TOKEN"])


def test_the_error_boundary_scrubs_every_message(
    project: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not only remote errors: any error line (here an OSError quoting a path that happens to
    # hold a secret value) passes through the one boundary that scrubs.
    set_secrets(monkeypatch)
    key = SECRETS["AWS_SECRET_ACCESS_KEY"]
    result = mlv("track", f"missing-{key}.csv")
    assert result.code == 2 and result.err.startswith("error: ")
    assert not leaks(result.err, key)


def test_an_allowed_variable_holding_a_password_is_refused(
    project: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The name is harmless; the value is a connection URL with a password in it.
    monkeypatch.setenv("DATABASE_URL", "postgres://ml:hunter2-db-pass@db.internal/feature_store")
    allow(project, "DATABASE_URL")
    write(project / "data.csv", "a\n1\n")
    assert mlv("track", "data.csv").code == 0
    refused = mlv("snapshot", "-m", "with a password in an allowed variable")
    assert refused.code == 2, refused.err
    assert "DATABASE_URL holds an address with a password" in refused.err
    assert "hint:" in refused.err and not leaks(printed(refused), "hunter2-db-pass")
    assert not (project / "mlv.lock").exists()
    # The same address without the password is recorded as it is.
    monkeypatch.setenv("DATABASE_URL", "postgres://db.internal/feature_store")
    assert mlv("snapshot", "-m", "allowed").code == 0
    lock = json.loads((project / "mlv.lock").read_text())
    assert lock["environment"]["variables"] == {
        "DATABASE_URL": "postgres://db.internal/feature_store"
    }


def test_a_credential_in_an_allowed_variable_does_not_break_status(
    project: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://db.internal/feature_store")
    allow(project, "DATABASE_URL")
    write(project / "data.csv", "a\n1\n")
    assert mlv("track", "data.csv").code == 0
    assert mlv("snapshot").code == 0
    monkeypatch.setenv("DATABASE_URL", "postgres://ml:hunter2-db-pass@db.internal/fs")
    status = mlv("status", "--json")  # compares, records nothing: no refusal
    assert status.code == 0, status.err
    assert json.loads(status.out)["environment"]["changed"] is True
    assert not leaks(status.out + status.err, "hunter2-db-pass")


def test_translate_errors_tells_a_disk_from_a_remote() -> None:
    import errno

    from mlv.adapters.remote import RemoteError, translate_errors

    with pytest.raises(RemoteError), translate_errors("s3", "s3://bucket/x"):
        raise OSError(errno.EIO, "unknown S3 error")  # s3fs's catch-all
    with pytest.raises(OSError) as local, translate_errors("dir", "/srv/remote"):
        raise OSError(errno.EIO, "Input/output error")
    assert not isinstance(local.value, RemoteError)
    with pytest.raises(OSError) as full, translate_errors("s3", "s3://bucket/x"):
        raise OSError(errno.ENOSPC, "No space left on device")  # ours, whatever the remote
    assert not isinstance(full.value, RemoteError)
