"""Rendering for people (rich) and for programs (--json), and progress bars on stderr."""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

import msgspec
from rich.console import Console

from mlv.model.ids import ObjectId

_out: Console | None = None
_err: Console | None = None


def out() -> Console:
    """The console for results (stdout); plain text when stdout is not a terminal."""
    global _out
    if _out is None:
        _out = Console(highlight=False, soft_wrap=True)
        if not _out.is_terminal and "COLUMNS" not in os.environ:
            _out.width = 160  # pipes and logs: wide tables rather than wrapped cells
    return _out


def err() -> Console:
    """The console for warnings and progress (stderr)."""
    global _err
    if _err is None:
        _err = Console(stderr=True, highlight=False, soft_wrap=True)
    return _err


def warn(message: str) -> None:
    err().print(f"[yellow]warning:[/yellow] {message}", markup=True)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, ObjectId):
        return str(obj)
    raise NotImplementedError(type(obj).__name__)


def print_json(data: Any) -> None:
    """Stable, sorted, indented JSON on stdout."""
    encoded = msgspec.json.encode(data, enc_hook=_json_default, order="sorted")
    sys.stdout.write(msgspec.json.format(encoded, indent=2).decode() + "\n")
    sys.stdout.flush()


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


class RichProgress:
    """The core Progress protocol drawn as rich progress bars on a terminal's stderr."""

    def __init__(self, enabled: bool | None = None) -> None:
        console = err()
        self.enabled = console.is_terminal if enabled is None else enabled
        self._bar: Any = None  # rich.progress.Progress, imported when a bar is first shown
        self._task: Any = None
        self._lock = threading.Lock()

    def start(self, description: str, total: int | None, unit: str = "files") -> None:
        if not self.enabled:
            return
        self.finish()
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        counter = (
            [DownloadColumn(), TransferSpeedColumn()]
            if unit == "bytes"
            else [MofNCompleteColumn(), TextColumn(f"{unit}"), _rate_column()]
        )
        self._bar = Progress(
            TextColumn("{task.description:>12}"),
            BarColumn(),
            *counter,
            TimeRemainingColumn(),
            console=err(),
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task(description, total=total)

    def advance(self, amount: int = 1) -> None:
        if self._bar is not None and self._task is not None:
            with self._lock:
                self._bar.advance(self._task, amount)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
            self._task = None


def _rate_column() -> Any:
    """A column showing items per second (rich has one for bytes only)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text("" if speed is None else f"{speed:,.0f}/s", style="progress.data.speed")

    return Rate()


def json_option_help() -> str:
    return "Print machine-readable JSON (schema in docs/json.md) instead of tables."
