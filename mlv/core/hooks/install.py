"""Installing mlv's git hook shims (and taking them out again), keeping the user's own hooks.

A shim recognises itself by its marker line; a hook that was there before is kept beside it as
``<hook>.mlv-user``, run first by the shim, and put back by ``uninstall``. What each hook does
when git runs it is ``mlv.core.hooks.checks``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import mlv
from mlv.adapters.git import GitRepo
from mlv.errors import MlvError, UsageError

HOOKS = ("pre-commit", "post-checkout", "post-merge", "pre-push")
MARKER = "# mlv-hook-shim"
USER_SUFFIX = ".mlv-user"


def shim_template() -> str:
    """The shim script, shipped in the package (or beside it in a source checkout)."""
    package = Path(mlv.__file__ or "").resolve().parent
    packaged = package / "_hooks" / "mlv-hook.sh"
    source = package.parent / "hooks" / "mlv-hook.sh"
    for candidate in (packaged, source):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    raise MlvError(
        "the hook template is missing from this mlv installation", "reinstall mlv"
    )  # pragma: no cover


def hooks_dir(git: GitRepo) -> Path:
    """Where git looks for hooks (core.hooksPath and worktrees honoured)."""
    path = Path(git.text("rev-parse", "--git-path", "hooks"))
    return path if path.is_absolute() else git.root / path


def is_ours(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return any(MARKER in handle.readline() for _ in range(3))
    except (FileNotFoundError, IsADirectoryError):
        return False


@dataclass
class HookChange:
    hook: str
    action: str  # "installed", "updated", "kept user hook as ...", "removed", "restored"


def install(git: GitRepo, *, force: bool = False) -> list[HookChange]:
    """Write the shims; a user's existing hook is kept as <hook>.mlv-user and chained."""
    directory = hooks_dir(git)
    directory.mkdir(parents=True, exist_ok=True)
    template = shim_template()
    changes = []
    for hook in HOOKS:
        target = directory / hook
        user = directory / (hook + USER_SUFFIX)
        action = "installed"
        if target.exists() or target.is_symlink():
            if is_ours(target):
                action = "updated"
            elif user.exists() and not force:
                raise UsageError(
                    f"{target} is not mlv's and {user.name} already exists",
                    "move one of them away, or pass --force to replace the saved hook",
                )
            else:
                os.replace(target, user)
                action = f"installed; your hook kept as {user.name} and run first"
        text = template.replace("__HOOK_NAME__", hook).replace(
            "__INSTALL_PYTHON__", _sh_quote(sys.executable)
        )
        tmp = target.with_name(f".{hook}.mlv-tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(0o755)
        os.replace(tmp, target)
        changes.append(HookChange(hook, action))
    return changes


def uninstall(git: GitRepo) -> list[HookChange]:
    """Remove mlv's shims and put back the hooks they had replaced."""
    directory = hooks_dir(git)
    changes = []
    for hook in HOOKS:
        target = directory / hook
        user = directory / (hook + USER_SUFFIX)
        if is_ours(target):
            target.unlink()
            if user.exists():
                os.replace(user, target)
                changes.append(HookChange(hook, "removed; your hook is back"))
            else:
                changes.append(HookChange(hook, "removed"))
    return changes


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"
