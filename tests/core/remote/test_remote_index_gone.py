"""An index a ``gc --remote`` deletes between a reader's listing of ``packs/`` and its read of
that index: the reader lists again (and finds the copies gc made), instead of failing with
"the remote does not exist"."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlv.adapters.remote_packs import RemotePacks
from mlv.core.project import open_project
from mlv.core.remote.gc import gc_remote
from mlv.core.remote.resolve import open_remote
from tests.conftest import MlvRunner
from tests.core.remote.remote_gc_setup import age, half_dead_remote


def test_an_index_deleted_after_the_listing_is_listed_again(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = tmp_path / "remote"
    half_dead_remote(project, mlv, str(remote))
    age(remote)
    proj = open_project(project)
    try:
        rpacks = RemotePacks(open_remote(proj, None))
        listing = rpacks.sizes()  # the reader lists packs/ ...
        live = set(RemotePacks(open_remote(proj, None)).entries())
        assert len(gc_remote(proj).rewritten_packs) == 1  # ... a gc rewrites the pack ...
        real = rpacks._names
        calls = iter([listing])
        monkeypatch.setattr(rpacks, "_names", lambda: next(calls, None) or real())
        entries = rpacks.entries()  # ... and then the reader reads the indexes it listed
    finally:
        proj.close()
    kept = set(RemotePacks(open_remote(open_project(project), None)).entries())
    assert kept < live and set(entries) == kept
    assert not rpacks.damaged


def test_an_index_listed_but_never_readable_holds_nothing(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A listing that keeps naming a deleted index (an eventually consistent store) is listed
    again a few times, then that pack holds nothing: no endless relisting."""
    remote = tmp_path / "remote"
    half_dead_remote(project, mlv, str(remote))
    age(remote)
    proj = open_project(project)
    try:
        rpacks = RemotePacks(open_remote(proj, None))
        listing = rpacks.sizes()
        assert len(gc_remote(proj).rewritten_packs) == 1
        monkeypatch.setattr(rpacks, "_names", lambda: listing)  # the stale listing, always
        assert rpacks.entries() == {} and not rpacks.damaged
    finally:
        proj.close()
