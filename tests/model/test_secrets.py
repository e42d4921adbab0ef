import pytest

from mlv.errors import UsageError
from mlv.model.remotes import check_url
from mlv.model.secrets import looks_secret, redact_url, text_credentials, url_credentials


@pytest.mark.parametrize(
    "name",
    [
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SESSION_TOKEN",
        "GITHUB_TOKEN",
        "MY_PASSWORD",
        "db_passwd",
        "DB_PASS",
        "DB_PWD",
        "OPENAI_API_KEY",
        "WANDB_APIKEY",
        "SSH_PRIVATE_KEY",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "GPG_PASSPHRASE",
        "HF_AUTH",
        "STRIPE_KEY",
        "AZURE_STORAGE_CONNECTION_STRING",
        "SENTRY_DSN",
        "X-Amz-Signature",
        "sig",
    ],
)
def test_secret_names(name: str) -> None:
    assert looks_secret(name)


@pytest.mark.parametrize(
    "name",
    [
        "SEED",
        "PYTHONHASHSEED",
        "CUDA_VISIBLE_DEVICES",
        "OMP_NUM_THREADS",
        "GIT_AUTHOR_NAME",
        "MONKEY_PATCH",
        "SIGMA",
        "PASSES",
        "PWD",
        "OLDPWD",
        "region",
        "X-Amz-Date",
    ],
)
def test_harmless_names(name: str) -> None:
    assert not looks_secret(name)


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("s3://KEY:SECRET@bucket/p", "s3://***:***@bucket/p"),
        ("s3://KEY@bucket/p", "s3://***@bucket/p"),
        ("ssh://me:pw@host/p", "ssh://***:***@host/p"),
        ("http://me:pw@127.0.0.1:9000", "http://***:***@127.0.0.1:9000"),
        ("s3://b/p?region=eu&secret=XYZ", "s3://b/p?region=eu&secret=***"),
        ("az://c/p?sv=1&sig=abc%3D", "az://c/p?sv=1&sig=***"),
        ("s3://b/p#token=T0K", "s3://b/p#token=***"),
        ("simplecache::s3://K:S@b/p", "simplecache::s3://***:***@b/p"),
    ],
)
def test_credentials_found_and_redacted(url: str, redacted: str) -> None:
    assert url_credentials(url) is not None
    assert redact_url(url) == redacted
    with pytest.raises(UsageError) as refused:
        check_url(url)
    assert redacted in refused.value.message
    assert url not in refused.value.message


@pytest.mark.parametrize(
    "url",
    [
        "/mnt/store",
        "relative/dir",
        "file:///mnt/store",
        "s3://bucket/prefix",
        "s3://bucket/prefix?region=eu-west-1",
        "ssh://git@host/store",
        "http://minio@127.0.0.1:9000",
        "http://[::1]:9000",
        "memory://x/y",
    ],
)
def test_urls_without_credentials(url: str) -> None:
    assert url_credentials(url) is None
    assert redact_url(url) == url
    assert check_url(url) == url


@pytest.mark.parametrize(
    "value",
    [
        'postgres://u:p"w@db/x',
        "postgres://u:p/w@db/x",
        "postgres://u:p#w@db/x",
        "postgres://u:p w@db/x",
        "host=db user=u password=pw",
        "dbname=x api_key=abc123",
        "https://h/x?token=abc",
    ],
)
def test_credentials_in_values_are_found(value: str) -> None:
    assert text_credentials(value) is not None


@pytest.mark.parametrize(
    "value",
    ["postgres://db/x", "https://example.com/a?b=c", "x=1 y=2", "http://[::1]:8080/x", "0.1",
     "ssh://git@host/repo", "/usr/bin:/bin"],
)  # fmt: skip
def test_plain_values_pass(value: str) -> None:
    assert text_credentials(value) is None


@pytest.mark.parametrize(
    "url", ["http://me:pw@[::1/x", "s3://[bucket/p", "simplecache::http://[zz"]
)
def test_a_malformed_url_is_refused_and_redacted_whole(url: str) -> None:
    """urlsplit cannot read it, so it cannot be shown in part: it might hide a password."""
    assert url_credentials(url) == "a malformed address part"
    assert "pw" not in redact_url(url) and "***" in redact_url(url)
    with pytest.raises(UsageError) as refused:
        check_url(url)
    assert "pw" not in refused.value.message
