"""What looks like a secret: variable names, URL credentials, and how to show a URL without them.

mlv writes ``mlv.toml`` and ``mlv.lock`` into git, where a secret can never be taken back. So
credentials are refused at the door (``[env] variables``, remote URLs) rather than filtered later,
and an error about a refused value shows it redacted, never as given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit, urlunsplit

REDACTED = "***"

# A name containing one of these (upper-cased, '-' read as '_') names a secret.
_SECRET_PARTS = (
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "CREDENTIAL",
    "PRIVATE_KEY",
    "PRIVATEKEY",
    "API_KEY",
    "APIKEY",
    "ACCESS_KEY",
    "ACCESSKEY",
    "SIGNATURE",
    "AUTHORIZATION",
    "CONNECTION_STRING",
    "COOKIE",
)
# ... or one of these as a whole word (DB_PASS, SSH_KEY, HF_AUTH, Azure SAS ``sig``), which as a
# substring would also match harmless names (PASSES, MONKEY, AUTHOR, SIGMA).
_SECRET_WORDS = {"KEY", "PASS", "PWD", "AUTH", "SIG", "DSN"}
# The shell's working directories, not passwords.
_NOT_SECRET = {"PWD", "OLDPWD"}

# Schemes whose user part, when present, is an access key (s3://KEY:SECRET@bucket in s3fs).
_KEYED_SCHEMES = {"s3", "s3a", "s3n", "gs", "gcs", "az", "abfs", "abfss", "adl", "oss"}
# fsspec chains URLs with "::" (simplecache::s3://...); an IPv6 host ([::1]) is not a chain.
_CHAIN = re.compile(r"::(?=[A-Za-z][A-Za-z0-9+.-]*(?:://|::|$))")


def looks_secret(name: str) -> bool:
    """Whether a variable or parameter ``name`` names a credential (AWS_SECRET_ACCESS_KEY, sig)."""
    upper = name.upper().replace("-", "_")
    if upper in _NOT_SECRET:
        return False
    if any(part in upper for part in _SECRET_PARTS):
        return True
    return any(word in _SECRET_WORDS for word in re.split(r"[^A-Z0-9]+", upper))


def _secret_params(text: str) -> list[str]:
    """Names of the ``key=value`` pairs of a query string or fragment that carry credentials."""
    return [
        key
        for key in (unquote(piece.partition("=")[0]) for piece in text.split("&") if piece)
        if looks_secret(key)
    ]


def _redact_params(text: str) -> str:
    pieces = []
    for piece in text.split("&"):
        key, eq, _ = piece.partition("=")
        pieces.append(f"{key}={REDACTED}" if eq and looks_secret(unquote(key)) else piece)
    return "&".join(pieces)


def _redact_one(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        name, colon, _ = user.partition(":")
        if colon or parts.scheme in _KEYED_SCHEMES:
            name = REDACTED
        netloc = f"{name}{':' + REDACTED if colon else ''}@{host}"
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            parts.path,
            _redact_params(parts.query),
            _redact_params(parts.fragment),
        )
    )


def redact_url(url: str) -> str:
    """``url`` with passwords, access keys and credential parameters replaced by ``***``."""
    return "::".join(_redact_one(part) for part in _CHAIN.split(url))


def url_credentials(url: str) -> str | None:
    """Where ``url`` carries credentials ("a password", "a query parameter ..."), or None.

    A user name alone is no secret (``ssh://git@host``), except on object stores, where it is
    an access key. fsspec's chained URLs (``simplecache::s3://...``) are checked link by link.
    """
    for part in _CHAIN.split(url):
        try:
            parts = urlsplit(part)
            password = parts.password
            username = parts.username
        except ValueError:
            return "a malformed address part"
        if password is not None:
            return "a password"
        if username and parts.scheme in _KEYED_SCHEMES:
            return "an access key as its user name"
        found = _secret_params(parts.query) + _secret_params(parts.fragment)
        if found:
            return f"credential parameter(s) {', '.join(sorted(set(found)))}"
    return None


# A URL quoted inside a message (up to whitespace or a quote).
_URL = re.compile(r"""[A-Za-z][A-Za-z0-9+.-]*://[^\s'"<>]+""")


def scrub(text: str, environ: Mapping[str, str]) -> str:
    """``text`` without the values of secret-looking variables of ``environ`` or URL credentials.

    A backend's message may quote a request, a URL or a header; whatever it quotes, the secret
    key that signed the request must not reach the terminal or a CI log.
    """
    # Very short values would redact ordinary words (real credentials are long); the longest
    # first, so a secret that contains another is redacted whole.
    secrets = {v for k, v in environ.items() if len(v) >= 6 and looks_secret(k)}
    for value in sorted(secrets, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return _URL.sub(lambda m: redact_url(m.group(0)), text)


# "scheme://user:password@" read raw, so that a password holding '/', '#', '"' or a space (which
# a URL parser would cut short) is still seen; and "password=..." words of a DSN.
_RAW_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/@\s]*:[^@]*@")
_SECRET_WORD = re.compile(r"([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*\S")


def text_credentials(text: str) -> str | None:
    """What credentials ``text`` carries, or None: for values, like an allowed variable's, that
    may hold a connection URL (``postgres://u:pw@host/db``) or a DSN (``host=db password=pw``)."""
    if _RAW_PASSWORD.search(text):
        return "a password"
    for match in _URL.finditer(text):
        found = url_credentials(match.group(0))
        if found is not None:
            return found
    for match in _SECRET_WORD.finditer(text):
        if looks_secret(match.group(1)):
            return f"a {match.group(1)} setting"
    return None
