"""The fault-injection settings mlv's own tests use (MLV_FAULT)."""

from __future__ import annotations

import pytest

from mlv import faults
from mlv.errors import UsageError


@pytest.mark.parametrize("spec", ["count:/tmp/marks", "kill@3", "stop-at:/mlv.lock", "eio@1"])
def test_the_settings_the_tests_use_are_accepted(spec: str) -> None:
    faults._Injector(spec)


@pytest.mark.parametrize("spec", ["stop@2", "kill@0", "kill", "enospc@x", "sometimes"])
def test_anything_else_is_a_clear_error(spec: str) -> None:
    with pytest.raises(UsageError, match="not a fault specification"):
        faults._Injector(spec)
