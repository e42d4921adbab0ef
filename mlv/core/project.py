"""Opening an mlv project: the git work tree, its declarations, settings, store and stat cache."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from mlv.adapters.git import GitRepo, find_toplevel
from mlv.core.installation import writer_record
from mlv.errors import ManifestError, NotInitialised, PathError, UsageError
from mlv.model.declarations import (
    DECLARATIONS_FILE,
    Declarations,
    Settings,
    decode_declarations,
    merge_settings,
    parse_toml,
)
from mlv.model.manifest import LOCK_FILE, Lock, check_lock_size, decode_lock, encode_lock
from mlv.model.paths import check_relpath
from mlv.storage.fsutil import check_no_symlink_parents, write_bytes_atomic
from mlv.storage.state import StatCache
from mlv.storage.store import ObjectStore

MLV_DIR = ".mlv"
CONFIG_FILE = f"{MLV_DIR}/config.toml"
LOCAL_CONFIG_FILE = f"{MLV_DIR}/config.local.toml"
CACHE_DIR_ENV = "MLV_CACHE_DIR"

# What .mlv/.gitignore keeps out of git: everything machine-local.
MLV_GITIGNORE = "/cache/\n/tmp/\n/state.db*\n/lock\n/config.local.toml\n"


@dataclass
class Project:
    """One mlv project (the root of a git work tree that holds mlv.toml)."""

    root: Path
    git: GitRepo
    declarations: Declarations
    settings: Settings
    store: ObjectStore
    state: StatCache

    @property
    def mlv_dir(self) -> Path:
        return self.root / MLV_DIR

    @property
    def tmp_dir(self) -> Path:
        return self.mlv_dir / "tmp"

    @property
    def lock_path(self) -> Path:
        return self.root / LOCK_FILE

    @property
    def process_lock(self) -> Path:
        return self.mlv_dir / "lock"

    def abspath(self, relpath: str) -> Path:
        return self.root / relpath

    def read_lock(self) -> Lock | None:
        """The work tree's mlv.lock, or None before the first snapshot."""
        try:
            with open(self.lock_path, "rb") as handle:
                check_lock_size(os.fstat(handle.fileno()).st_size)  # before reading it
                data = handle.read()
        except FileNotFoundError:
            return None
        return decode_lock(data)

    def write_lock(self, lock: Lock) -> None:
        """Write mlv.lock atomically, naming the running mlv as the one that wrote it."""
        lock = msgspec.structs.replace(lock, mlv=writer_record())
        write_bytes_atomic(self.lock_path, encode_lock(lock), tmp_dir=self.tmp_dir)

    def lock_at(self, rev: str) -> tuple[str, Lock]:
        """The commit ``rev`` names and the mlv.lock it holds."""
        sha = self.git.resolve(rev)
        data = self.git.read_blob(sha, LOCK_FILE, check_size=lock_size_check)
        if data is None:
            raise UsageError(
                f"revision {rev} ({sha[:10]}) has no {LOCK_FILE}",
                "`mlv log` lists the commits that are snapshots",
            )
        return sha, decode_lock(data, source=f"{LOCK_FILE} at {rev}")

    def close(self) -> None:
        self.state.close()
        self.store.close()


def lock_size_check(commit: str, size: int) -> None:
    """Refuse an mlv.lock in git history too large to be a manifest, before it is read."""
    check_lock_size(size, f"{LOCK_FILE} at {commit[:10]}")


def _read_settings_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    return parse_toml(text, str(path))


def resolve_cache_dir(root: Path, settings: Settings) -> Path:
    configured = os.environ.get(CACHE_DIR_ENV) or settings.cache_dir
    if not configured:
        return root / MLV_DIR / "cache"
    path = Path(configured).expanduser()
    return path if path.is_absolute() else root / path


def load_settings(root: Path, declarations: Declarations) -> Settings:
    return merge_settings(
        declarations.settings,
        _read_settings_file(root / CONFIG_FILE),
        _read_settings_file(root / LOCAL_CONFIG_FILE),
        source=f"{DECLARATIONS_FILE} or {MLV_DIR}/config*.toml",
    )


def open_project(start: Path | None = None) -> Project:
    """The project around ``start`` (default: the current directory)."""
    start = start or Path.cwd()
    root = find_toplevel(start)
    toml_path = root / DECLARATIONS_FILE
    try:
        text = toml_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotInitialised(str(root)) from None
    except UnicodeDecodeError:
        raise ManifestError(f"{DECLARATIONS_FILE} is not UTF-8 text") from None
    declarations = decode_declarations(text)
    settings = load_settings(root, declarations)
    # Hard-linked checkouts need a file per object: such a project writes loose objects.
    store = ObjectStore(resolve_cache_dir(root, settings), loose=settings.link == "hardlink")
    return Project(
        root, GitRepo(root), declarations, settings, store, StatCache(root / MLV_DIR / "state.db")
    )


def to_relpath(project_root: Path, user_path: str, cwd: Path | None = None) -> str:
    """A user-given path (relative to the current directory) as a repository-relative POSIX path.

    Rejects paths outside the work tree, including ones that get there through a symlink.
    """
    cwd = cwd or Path.cwd()
    absolute = Path(os.path.normpath(cwd / user_path))
    root_real = project_root.resolve()
    try:
        rel = absolute.relative_to(project_root)
    except ValueError:
        try:
            rel = absolute.relative_to(root_real)
        except ValueError:
            raise PathError(
                f"{user_path} is outside the repository {project_root}",
                "give a path inside the git work tree",
            ) from None
    real = (project_root / rel).resolve()
    if real != root_real and root_real not in real.parents:
        raise PathError(
            f"{user_path} leads outside the repository through a symbolic link",
            "track the real location inside the repository instead",
        )
    posix = rel.as_posix()
    if posix in ("", "."):
        raise PathError(f"{user_path} is the repository root", "track a file or a directory in it")
    check_relpath(posix)
    check_no_symlink_parents(project_root, posix)
    return posix
