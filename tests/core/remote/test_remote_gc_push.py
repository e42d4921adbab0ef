"""A push running beside ``gc --remote``: objects the push found in an old pack (dead for this
clone's gc, alive again in another clone's new revision) are never lost. The push marks the
packs it relies on (gc then counts them young); one whose pack a gc deleted anyway (the gc
listed before the mark) is sent again once that gc is done."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlv.adapters.remote_packs import RemotePacks
from mlv.core.objects.closure import closure, local_tree_reader, locks_at
from mlv.core.project import Project, open_project
from mlv.core.remote.fetch import fetch
from mlv.core.remote.gc import gc_remote
from mlv.core.remote.pack_out import digest_of, push_packs
from mlv.core.remote.push import push
from mlv.core.remote.resolve import open_remote
from tests.cli.test_remote import clone
from tests.conftest import MlvRunner
from tests.core.remote.remote_gc_setup import age, half_dead_remote


def _revived(project: Path, mlv: MlvRunner, tmp_path: Path, mp: pytest.MonkeyPatch) -> Project:
    """Another clone whose work tree names the dead branch's objects again, fetched."""
    remote = tmp_path / "remote"
    dead_lock = half_dead_remote(project, mlv, str(remote))
    age(remote)
    other = clone(project, tmp_path / "other", mp)
    (other / "mlv.lock").write_bytes(dead_lock)
    revived = open_project(other)
    assert fetch(revived).complete
    return revived


def _indexed(project: Project) -> set[bytes]:
    return set(RemotePacks(open_remote(project, None)).entries())


def _needed(project: Project) -> set[bytes]:
    locks = locks_at(project, [], include_worktree=True)
    return {digest_of(o) for o in closure(locks, local_tree_reader(project)).objects}


def test_a_pack_a_push_relied_on_is_spared_by_gc(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    revived = _revived(project, mlv, tmp_path, monkeypatch)
    pushed = push(revived, packed=True)
    assert pushed.transferred == 0 and pushed.already_there > 0  # all found in the old pack
    assert list((tmp_path / "remote/packs").glob("*.keep"))
    gc = open_project(project)
    try:
        result = gc_remote(gc)  # this clone does not know the revived revision
    finally:
        gc.close()
    assert result.young_packs == 1 and not result.rewritten_packs
    assert _needed(revived) <= _indexed(revived)
    revived.close()


def test_what_a_gc_deleted_under_a_push_is_sent_again(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    revived = _revived(project, mlv, tmp_path, monkeypatch)
    rpacks = RemotePacks(open_remote(revived, None))
    listing = rpacks.entries()  # the push lists the remote ...
    needed = closure(locks_at(revived, [], include_worktree=True), local_tree_reader(revived))
    in_packs = {o for o in needed.objects if digest_of(o) in listing}
    gc = open_project(project)
    try:  # ... a gc that listed before the push's marks deletes the pack ...
        assert len(gc_remote(gc).rewritten_packs) == 1
    finally:
        gc.close()
    assert not _needed(revived) <= _indexed(revived)
    # ... and the push, finding nothing to send, checks again and resends what went.
    sent, packs = push_packs(
        revived.store, rpacks, listing, in_packs, [[], []], needed.trees, lambda n: None
    )
    assert sent > 0 and packs == 1
    assert _needed(revived) <= _indexed(revived)
    revived.close()
