"""The code record: which commit, which tracked-code tree, and the patch when they differ."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlv.adapters.git import GitRepo
from mlv.model.manifest import LOCK_FILE, CodeRecord
from mlv.storage.store import ObjectStore


@dataclass(frozen=True, slots=True)
class CodeState:
    commit: str | None  # HEAD
    tree: str  # git tree of every tracked file as it is in the work tree, mlv.lock excluded


def current_state(git: GitRepo, scratch: Path) -> CodeState:
    return CodeState(git.head(), git.code_tree(scratch, exclude=LOCK_FILE))


def record(git: GitRepo, state: CodeState, store: ObjectStore, *, dirty: bool) -> CodeRecord:
    """A code record for ``state``; a non-empty patch from HEAD is stored as an object."""
    patch = git.binary_diff(state.commit, state.tree, exclude=LOCK_FILE)
    patch_id = store.add_bytes(patch) if patch else None
    return CodeRecord(
        commit=state.commit, tree=state.tree, patch=patch_id, dirty=dirty and patch_id is not None
    )
