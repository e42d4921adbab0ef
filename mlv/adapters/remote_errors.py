"""How a remote's failures reach the user: backend exceptions become one-line errors with hints.

Split from ``remote.py``: the translation is shared by loose objects, packs and markers.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator

from mlv.errors import MlvError, UsageError
from mlv.model.secrets import scrub

# Failures of a disk, not of a connection: the error boundary names the errno and the place.
_DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


def _is_disk_failure(exc: OSError, url: str) -> bool:
    """A full, read-only or failing disk, ours or a directory remote's. EIO counts only for a
    directory remote: s3fs reports any S3 error it does not know as EIO."""
    if exc.errno in _DISK_ERRORS:
        return True
    local = "://" not in url or url.startswith(("file://", "local://"))
    return exc.errno == errno.EIO and local


class RemoteError(MlvError):
    """The remote could not be reached or failed during a transfer (worth retrying)."""

    exit_code = 1
    default_hint = "check the network and the remote, then run the command again (it resumes)"


@contextlib.contextmanager
def translate_errors(name: str, url: str) -> Iterator[None]:
    """Backend exceptions become one-line errors with hints (never a traceback)."""
    try:
        yield
    except MlvError:
        raise
    except ImportError as exc:
        raise UsageError(
            f"remote {name}: the package for {url.split(':', 1)[0]}:// is not installed"
            f" ({_short(exc)})",
            "install it, e.g. pip install 'mlv-cli[s3]' for s3:// remotes",
        ) from None
    except PermissionError as exc:
        raise UsageError(
            f"remote {name}: access denied ({_short(exc)})",
            "check the credentials in your environment (e.g. AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY or AWS_PROFILE) and the permissions on the bucket",
        ) from None
    except FileNotFoundError as exc:
        raise UsageError(
            f"remote {name}: {url} does not exist ({_short(exc)})",
            f"create the bucket first (a directory remote: `mlv remote init {name}`), or fix"
            f" the URL with `mlv remote add {name} URL --force`",
        ) from None
    except Exception as exc:
        kind = type(exc).__name__
        if kind in {"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"}:
            raise UsageError(
                f"remote {name}: no credentials found for {url}",
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the"
                " environment; mlv never stores credentials in the repository",
            ) from None
        if kind in {
            "EndpointConnectionError",
            "ConnectTimeoutError",
            "ConnectionError",
            "ClientConnectorError",
            "ServerDisconnectedError",
            "ReadTimeoutError",
            "TimeoutError",
            "ConnectionRefusedError",
        }:
            raise RemoteError(f"remote {name} is unreachable: {_short(exc)}") from None
        if isinstance(exc, OSError) and _is_disk_failure(exc, url):
            raise  # a disk's failure (ours or a directory remote's), reported as such with its path
        if isinstance(exc, OSError):
            raise RemoteError(f"remote {name}: {_short(exc)}") from None
        raise


def _short(exc: BaseException) -> str:
    text = scrub(str(exc), os.environ).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
