"""Fixtures shared by the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import write


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory outside repository and remote, with a file no command may read or change."""
    out = tmp_path / "outside"
    write(out / "secret.txt", "the secret outside\n")
    (out / "empty-dir").mkdir()
    return out
