"""A project whose remote holds one pack, half of it dead: ``v1`` on main stays, the branch
``exp`` (half the files rewritten) is pushed in the same pack, then deleted and forgotten."""

from __future__ import annotations

import os
import time
from pathlib import Path

from mlv.core.project import open_project
from mlv.core.remote.push import push
from tests.cli.test_gc import forget_reflogs
from tests.cli.test_remote import make_data
from tests.conftest import MlvRunner, git, write

FILES = 20


def half_dead_remote(project: Path, mlv: MlvRunner, url: str, *extra: str) -> bytes:
    """Returns the deleted branch's mlv.lock (to bring its objects back to life)."""
    make_data(project, files=FILES)
    assert mlv("track", "data/raw", "models/m.pkl").code == 0
    assert mlv("remote", "add", "origin", url, *extra).code == 0
    assert mlv("snapshot", "-m", "v1").code == 0
    git(project, "checkout", "-q", "-b", "exp")
    for i in range(0, FILES, 2):  # half the files, and the model
        write(project / f"data/raw/part{i % 4}/f{i}.bin", os.urandom(3000))
    write(project / "models/m.pkl", os.urandom(5000))
    assert mlv("snapshot", "-m", "v2").code == 0
    proj = open_project(project)
    try:
        result = push(proj, revs=["main", "exp"], packed=True)  # one pack for both
    finally:
        proj.close()
    assert result.complete
    dead_lock = (project / "mlv.lock").read_bytes()
    git(project, "checkout", "-q", "main")
    assert mlv("checkout").code == 0
    git(project, "branch", "-q", "-D", "exp")
    forget_reflogs(project)
    return dead_lock


def age(directory: Path, seconds: float = 2 * 24 * 3600) -> None:
    """Make a directory remote's packs look ``seconds`` old (past the grace period)."""
    then = time.time() - seconds
    for path in (directory / "packs").iterdir():
        os.utime(path, (then, then))
