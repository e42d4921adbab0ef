"""The Python API of mlv: read tracked files at any revision, inspect and make snapshots.

Every function finds the project from ``repo`` (any directory inside the git work tree; default:
the current directory). Paths are relative to the repository root, whatever the current
directory, so a notebook in ``notebooks/`` reads ``data/raw.csv`` by that name; an absolute
path is one on this machine and must lie inside the work tree. A revision is
any git revision (``"HEAD~1"``, a tag, a commit); ``rev=None`` means the work tree's
``mlv.lock``, the state ``mlv checkout`` without a revision restores. ``repo`` is a ``str``,
an ``os.PathLike`` or None.

Nothing here prints. Failures raise ``mlv.errors.MlvError`` subclasses, the same errors the
command line turns into exit codes: ``mlv.errors.UsageError`` for bad input (an unknown
revision, a path that is not tracked or outside the work tree, a ``repo`` that is not a
directory, an unknown encoding), ``mlv.errors.CheckFailed`` for a missing or corrupt
object. The functions call the same core functions as the commands: ``status()`` is
``mlv status``, ``snapshot()`` is ``mlv snapshot``, ``manifest()`` is ``mlv show``,
``lineage()`` is ``mlv lineage``, ``log()`` is ``mlv log``.

Example:

    import mlv.api

    with mlv.api.open("data/raw/train.csv", rev="v1") as f:
        header = f.readline()
    frame = mlv.api.read_table("data/features.parquet", rev="HEAD~1", columns=["x", "y"])
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from mlv.core.history.log import LogEntry
    from mlv.core.project import Project
    from mlv.core.record.snapshot import SnapshotResult
    from mlv.core.record.status import StatusReport
    from mlv.model.lineage import Lineage
    from mlv.model.manifest import Lock

__all__ = [
    "lineage",
    "log",
    "manifest",
    "open",
    "read_bytes",
    "read_table",
    "read_text",
    "snapshot",
    "status",
]

Repo = str | os.PathLike[str] | None


def _open_project(repo: Repo) -> Project:
    """The project of ``repo``; a ``repo`` that is not a directory is a ``UsageError``."""
    from mlv.core.project import open_project
    from mlv.errors import NotARepository

    if repo is None:
        return open_project(None)
    where = Path(repo)
    if not where.is_dir():
        why = "it does not exist" if not where.exists() else "it is not a directory"
        raise NotARepository(f"{os.fspath(repo)} ({why})")
    return open_project(where)


@contextmanager
def _project(repo: Repo) -> Iterator[Project]:
    project = _open_project(repo)
    try:
        yield project
    finally:
        project.close()


class _Closing(io.BufferedReader):
    """A buffered stream that also closes what it reads from (the project and its store)."""

    def __init__(self, raw: io.RawIOBase, also: Callable[[], None]) -> None:
        super().__init__(raw, buffer_size=1024 * 1024)
        self._also = also

    def close(self) -> None:
        try:
            super().close()
        finally:
            also, self._also = self._also, lambda: None
            also()


def open(
    path: str,
    rev: str | None = None,
    mode: Literal["rb", "r"] = "rb",
    *,
    encoding: str = "utf-8",
    repo: Repo = None,
) -> IO[Any]:
    """Open tracked file ``path`` as recorded at ``rev``, for reading in a stream.

    ``path`` may be a file artifact or a file inside a directory artifact. The bytes come from
    the store, or the default remote when the store lacks them, and are checked against their
    id as they are read: reading a corrupt object to its end raises
    ``mlv.errors.CorruptObject``. ``mode`` is ``"rb"`` (bytes) or ``"r"`` (text in
    ``encoding``). Use it as a context manager; a 10 GiB file is never loaded whole.
    """
    import codecs

    from mlv.core.restore.reading import locate, open_recorded
    from mlv.errors import UsageError

    if mode not in ("rb", "r"):
        raise UsageError(f"mode {mode!r} is not one mlv.api.open reads", 'use "rb" or "r"')
    if mode == "r":
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise UsageError(
                f"unknown encoding {encoding!r}", 'give a text encoding Python knows, e.g. "utf-8"'
            ) from None
    project = _open_project(repo)
    try:
        raw = open_recorded(project, locate(project, os.fspath(path), rev))
    except BaseException:
        project.close()
        raise
    binary = _Closing(raw, project.close)
    if mode == "rb":
        return binary
    return io.TextIOWrapper(binary, encoding=encoding)


def read_bytes(path: str, rev: str | None = None, *, repo: Repo = None) -> bytes:
    """The whole content of tracked file ``path`` at ``rev``, verified against its id."""
    with open(path, rev, "rb", repo=repo) as handle:
        data: bytes = handle.read()
        return data


def read_text(
    path: str, rev: str | None = None, *, encoding: str = "utf-8", repo: Repo = None
) -> str:
    """The whole content of tracked file ``path`` at ``rev`` as text."""
    with open(path, rev, "r", encoding=encoding, repo=repo) as handle:
        text: str = handle.read()
        return text


def read_table(
    path: str,
    rev: str | None = None,
    columns: list[str] | None = None,
    *,
    as_arrow: bool = False,
    repo: Repo = None,
) -> Any:
    """Tabular file ``path`` at ``rev`` as a pandas DataFrame (a pyarrow Table with
    ``as_arrow=True``), read with the readers of ``mlv diff``: CSV, TSV, Parquet, Arrow IPC /
    Feather and JSON Lines, by suffix. ``columns`` selects and orders columns.

    pandas is needed only for a DataFrame (``pip install pandas``).
    """
    from mlv.core.restore.reading import local_file, locate
    from mlv.core.tables.load import load_table

    with _project(repo) as project:
        recorded = locate(project, os.fspath(path), rev)
        with local_file(project, recorded) as local:
            table = load_table(local, recorded.path, columns)
    if as_arrow:
        return table
    try:
        import pandas  # type: ignore[import-untyped]  # noqa: F401 - to_pandas needs it
    except ImportError:
        from mlv.errors import UsageError

        raise UsageError(
            "read_table needs pandas for a DataFrame",
            "pip install pandas, or pass as_arrow=True for a pyarrow Table",
        ) from None
    return table.to_pandas()


def status(*, repo: Repo = None) -> StatusReport:
    """How tracked paths, stages, environment and code differ from the work tree's mlv.lock
    (``mlv status``). ``report.stale`` is what ``mlv status --check`` fails on."""
    from mlv.core.record.status import status as core_status

    with _project(repo) as project:
        return core_status(project)


def snapshot(
    message: str | None = None, *, commit: bool = True, repo: Repo = None
) -> SnapshotResult:
    """Store every tracked artifact, record environment and code, write mlv.lock and commit it
    (``mlv snapshot``; ``commit=False`` is ``--no-commit``)."""
    from mlv.core.record.snapshot import snapshot as core_snapshot

    with _project(repo) as project:
        return core_snapshot(project, message=message, commit=commit)


def manifest(rev: str | None = None, *, repo: Repo = None) -> Lock:
    """The manifest (mlv.lock) at ``rev``: artifacts, stages, environment, code, tables
    (``mlv show``)."""
    from mlv.core.history.log import show

    with _project(repo) as project:
        return show(project, rev).lock


def lineage(path: str, rev: str | None = None, *, repo: Repo = None) -> Lineage:
    """Which stages and inputs produced ``path``, as recorded at ``rev`` (``mlv lineage``)."""
    from mlv.core.pipeline.lineage import lineage as core_lineage

    with _project(repo) as project:
        return core_lineage(project, os.fspath(path), rev, cwd=project.root)


def log(limit: int | None = None, *, repo: Repo = None) -> list[LogEntry]:
    """The snapshots in history (commits that changed mlv.lock), newest first (``mlv log``)."""
    from mlv.core.history.log import log as core_log

    with _project(repo) as project:
        return core_log(project, limit)
