"""A real headless Chromium for the HTML tests: Debian's ``chromium`` package, installed by the
test set-up when missing (CI on a fresh machine runs as root), driven by Playwright for Python
with that binary (Playwright's own browser download is never used)."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def ensure_chromium(lock_dir: Path) -> str | None:
    """Install Debian's chromium if it is missing; the reason it cannot be, or None.

    One install per machine: pytest-xdist workers wait on a file lock in ``lock_dir`` (the
    session's shared temporary directory) and find the binary once the first has installed it.
    """
    if CHROMIUM.exists():
        return None
    apt = shutil.which("apt-get")
    if apt is None:
        return f"{CHROMIUM} is missing and there is no apt-get to install it"
    if os.geteuid() != 0:
        return f"{CHROMIUM} is missing; install it as root: apt-get install chromium"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / "chromium-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if CHROMIUM.exists():
            return None
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for args in ([apt, "update", "-qq"], [apt, "install", "-y", "-qq", "chromium"]):
            try:
                done = subprocess.run(
                    args, env=env, capture_output=True, text=True, timeout=1200, check=False
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                return f"`{' '.join(args)}` failed: {exc}"
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
                return f"`{' '.join(args)}` exited {done.returncode}: {' / '.join(tail)}"
    return None if CHROMIUM.exists() else f"apt-get installed chromium but {CHROMIUM} is missing"
