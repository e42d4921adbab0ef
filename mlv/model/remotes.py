"""Remotes as declared in mlv.toml: a name, an fsspec URL, optional endpoint, one default,
whether push writes packs.

Credentials never live here: they come from the backend's own environment or configuration
(AWS variables and profiles for S3, ...). A URL or endpoint that carries a password, an
object-store access key or a credential parameter (a token, a presigned signature) is rejected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlv.errors import ManifestError, UsageError
from mlv.model.names import check_name
from mlv.model.secrets import redact_url, url_credentials

_KEYS = {"url", "default", "endpoint_url", "packs"}


@dataclass(frozen=True, slots=True)
class RemoteDecl:
    name: str
    url: str
    default: bool = False
    endpoint_url: str | None = None
    # Whether push writes packs (format 2, the default) or one file per object (format 1, for
    # a remote shared with an mlv that reads only format 1; docs/remotes.md).
    packs: bool = True

    def to_toml(self) -> dict[str, Any]:
        table: dict[str, Any] = {"url": self.url}
        if self.endpoint_url:
            table["endpoint_url"] = self.endpoint_url
        if self.default:
            table["default"] = True
        if not self.packs:
            table["packs"] = False
        return table


def check_url(url: str, what: str = "remote URL") -> str:
    """Refuse empty URLs and URLs that embed credentials (user:password@, a signature, a token).

    The error shows the URL redacted: the point is to keep the secret out of logs too.
    """
    if not url.strip():
        raise UsageError(f"the {what} is empty", "give a directory path or s3://bucket/prefix")
    where = url_credentials(url)
    if where is not None:
        raise UsageError(
            f"the {what} {redact_url(url)} contains credentials ({where});"
            " they must not be written to the repository",
            "remove them from the URL and provide them through the backend's environment"
            " (e.g. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or an AWS profile)",
        )
    return url


def decode_remotes(raw: Any, source: str) -> dict[str, RemoteDecl]:
    if not isinstance(raw, dict):
        raise ManifestError(f"{source}: [remotes] must be a table")
    remotes: dict[str, RemoteDecl] = {}
    for name, spec in raw.items():
        where = f"{source}: remotes.{name}"
        if not isinstance(spec, Mapping):
            raise ManifestError(f'{where} must be a table with url = "..."')
        unknown = set(spec) - _KEYS
        if unknown:
            raise ManifestError(
                f"{where} has unknown keys: {sorted(unknown)}",
                f"remote keys are: {', '.join(sorted(_KEYS))}",
            )
        url, default, endpoint, packs = (
            spec.get("url"),
            spec.get("default", False),
            spec.get("endpoint_url"),
            spec.get("packs", True),
        )
        if (
            not isinstance(url, str)
            or not isinstance(default, bool)
            or not (endpoint is None or isinstance(endpoint, str))
            or not isinstance(packs, bool)
        ):
            raise ManifestError(
                f"{where}: url (string), default (true/false), endpoint_url (string),"
                " packs (true/false) expected"
            )
        try:
            check_name(name, "remote")
            check_url(url)
            if endpoint is not None:
                check_url(endpoint, "endpoint URL")
        except UsageError as exc:
            raise ManifestError(f"{where}: {exc.message}", exc.hint) from None
        remotes[name] = RemoteDecl(name, url, default, endpoint, packs)
    if sum(r.default for r in remotes.values()) > 1:
        raise ManifestError(
            f"{source}: more than one remote has default = true",
            "keep default = true on one remote only",
        )
    return remotes
