"""Progress reporting from core operations, without core knowing how it is shown."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Told about long work; implementations must accept ``advance`` from worker threads."""

    def start(self, description: str, total: int | None, unit: str = "files") -> None: ...

    def advance(self, amount: int = 1) -> None: ...

    def finish(self) -> None: ...


class NullProgress:
    """The default: long work goes unreported."""

    def start(self, description: str, total: int | None, unit: str = "files") -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


NULL_PROGRESS: Progress = NullProgress()
