"""A push of a new chunked file whose chunks the remote held already (in a pack dead for
another clone's ``gc --remote``): those chunks are relied on like whole objects are, and sent
again when a gc that listed before the push deleted them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlv.adapters.remote_packs import RemotePacks
from mlv.core.objects.closure import closure, local_tree_reader, locks_at
from mlv.core.project import open_project
from mlv.core.remote.fetch import fetch
from mlv.core.remote.gc import gc_remote
from mlv.core.remote.pack_out import digest_of, push_packs
from mlv.core.remote.push import push
from mlv.core.remote.resolve import open_remote
from mlv.storage import chunk
from mlv.storage.chunk import CHUNK_FROM
from mlv.storage.pack import CHUNKED
from tests.cli.test_gc import forget_reflogs
from tests.cli.test_remote import clone, make_data
from tests.conftest import MlvRunner, git, write
from tests.core.remote.remote_gc_setup import age


def push_dead_model(project: Path, mlv: MlvRunner, remote: Path, model: bytes) -> bytes:
    """Push ``main`` and a branch ``exp`` whose chunked ``models/m.pkl`` is ``model``, then
    delete ``exp`` and age the remote's packs: that model is dead to gc. Returns exp's lock."""
    make_data(project, files=4)
    assert mlv("track", "data/raw", "models/m.pkl").code == 0
    assert mlv("remote", "add", "origin", str(remote)).code == 0
    assert mlv("snapshot", "-m", "v1").code == 0
    git(project, "checkout", "-q", "-b", "exp")
    write(project / "models/m.pkl", model)
    assert mlv("snapshot", "-m", "v2").code == 0
    proj = open_project(project)
    try:
        assert push(proj, revs=["main", "exp"], packed=True).complete
    finally:
        proj.close()
    dead_lock = (project / "mlv.lock").read_bytes()
    git(project, "checkout", "-q", "main")
    assert mlv("checkout").code == 0
    git(project, "branch", "-q", "-D", "exp")
    forget_reflogs(project)
    age(remote)
    return dead_lock


@pytest.mark.slow
def test_chunks_a_push_reused_are_sent_again_after_a_gc_deleted_them(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = os.urandom(CHUNK_FROM + 1024 * 1024)
    push_dead_model(project, mlv, tmp_path / "remote", old)

    other = clone(project, tmp_path / "other", monkeypatch)
    revived = open_project(other)
    assert fetch(revived).complete
    revived.close()
    assert mlv("checkout").code == 0
    # A new file sharing most chunks with the dead one.
    write(other / "models/m.pkl", old[: CHUNK_FROM // 2] + os.urandom(CHUNK_FROM))
    assert mlv("snapshot", "-m", "v3").code == 0
    revived = open_project(other)
    rpacks = RemotePacks(open_remote(revived, None))
    listing = rpacks.entries()  # the push lists the remote ...
    needed = closure(locks_at(revived, [], include_worktree=True), local_tree_reader(revived))
    in_packs = {o for o in needed.objects if digest_of(o) in listing}
    todo = needed.objects - in_packs
    gc = open_project(project)
    try:  # ... a gc that listed before the push's marks deletes the old pack ...
        assert len(gc_remote(gc).rewritten_packs) == 1
    finally:
        gc.close()
    ordered = [sorted(todo - needed.trees), sorted(todo & needed.trees)]
    push_packs(revived.store, rpacks, listing, in_packs, ordered, needed.trees, lambda n: None)
    # ... and every chunk of the new file is on the remote after the push.
    on_remote = set(RemotePacks(open_remote(revived, None)).entries())
    chunked = [
        o
        for o in needed.objects
        if (e := revived.store.packs.find(digest_of(o))) and e.kind == CHUNKED
    ]
    assert chunked
    for oid in chunked:
        entry = revived.store.packs.find(digest_of(oid))
        assert entry is not None
        items = chunk.decode(revived.store.packs.read(digest_of(oid), entry)) or []
        assert {c for c, _ in items} <= on_remote
    revived.close()


@pytest.mark.slow
def test_a_chunked_file_whose_pack_a_gc_deleted_under_a_push_is_sent_again(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead_lock = push_dead_model(
        project, mlv, tmp_path / "remote", os.urandom(CHUNK_FROM + 1024 * 1024)
    )
    other = clone(project, tmp_path / "other", monkeypatch)
    (other / "mlv.lock").write_bytes(dead_lock)  # the chunked file, alive again here
    revived = open_project(other)
    assert fetch(revived).complete
    rpacks = RemotePacks(open_remote(revived, None))
    listing = rpacks.entries()  # the push lists the remote ...
    needed = closure(locks_at(revived, [], include_worktree=True), local_tree_reader(revived))
    in_packs = {o for o in needed.objects if digest_of(o) in listing}
    gc = open_project(project)
    try:  # ... a gc that listed before the push's marks deletes the old pack ...
        assert len(gc_remote(gc).rewritten_packs) == 1
    finally:
        gc.close()
    # ... and the push, finding nothing to send, marks what it relies on and resends it.
    sent, _ = push_packs(
        revived.store, rpacks, listing, in_packs, [[], []], needed.trees, lambda n: None
    )
    assert sent > 0
    on_remote = set(RemotePacks(open_remote(revived, None)).entries())
    assert {digest_of(o) for o in needed.objects} <= on_remote
    revived.close()
