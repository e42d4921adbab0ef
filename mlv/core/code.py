"""The code record: which commit, which tracked-code tree, and the patch when they differ."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mlv.adapters.git import GitRepo
from mlv.core.project import Project
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


@contextmanager
def worktree(project: Project, commit: str | None, name: str, keep: bool) -> Iterator[Path]:
    """A throw-away worktree of ``commit`` under .mlv/tmp, removed on exit unless ``keep``."""
    project.tmp_dir.mkdir(parents=True, exist_ok=True)
    path = project.tmp_dir / name
    created = False
    try:
        if commit is not None:
            project.git.worktree_add(path, commit)
        else:  # the snapshot predates the first commit: the patch holds all the code
            path.mkdir()
            GitRepo(path).run(["init", "-q"])
        created = True
        yield path
    finally:
        if created and not keep:
            if commit is not None:
                project.git.worktree_remove(path)
            else:
                shutil.rmtree(path, ignore_errors=True)


def export(project: Project, code: CodeRecord, dest: Path, name: str) -> None:
    """Write the code ``code`` records (its base commit with its patch applied: the tracked
    files as they were when the snapshot was taken) into the new directory ``dest``, without
    git's files. ``name`` names the throw-away worktree under .mlv/tmp it is made in."""
    with worktree(project, code.commit, name, keep=False) as work:
        if code.patch is not None:
            GitRepo(work).apply(project.store.read_bytes(code.patch))
        shutil.copytree(
            work, dest, symlinks=True, ignore=lambda d, _: [".git"] if Path(d) == work else []
        )
