"""The package installers a restore drives: uv when it is available (much faster), pip otherwise.

Every call passes its arguments as a list (no shell), so nothing from an environment record is
ever interpreted as a command. The installer's own configuration (pip.conf, PIP_* variables,
uv.toml) applies as it would on the command line; options given to mlv pass through.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mlv.errors import UsageError

Kind = Literal["uv", "pip"]
_TAIL = 12  # lines of the installer's output quoted in an error


class InstallFailed(UsageError):
    """The installer refused: a package it cannot find or build, an interpreter it rejects."""


def find_uv() -> str | None:
    """The uv executable: the ``uv`` package's (installed beside mlv) or one on PATH."""
    if importlib.util.find_spec("uv") is not None:
        try:
            from uv import find_uv_bin

            return str(find_uv_bin())
        except (ImportError, FileNotFoundError):
            pass
    return shutil.which("uv")


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


@dataclass(frozen=True, slots=True)
class Installer:
    kind: Kind
    executable: str  # uv, or the interpreter whose pip is used
    # Descriptors the installer inherits: the build's lock, held until the installer is gone
    # even when mlv itself is killed (-9), so that nobody removes what it still writes.
    hold: tuple[int, ...] = ()

    @staticmethod
    def choose(wanted: str = "auto") -> Installer:
        """uv when available (or asked for), pip otherwise (or when asked for)."""
        if wanted in ("auto", "uv"):
            uv = find_uv()
            if uv is not None:
                return Installer("uv", uv)
            if wanted == "uv":
                raise UsageError(
                    "uv is not installed", "install it (pip install uv), or use --installer pip"
                )
        if importlib.util.find_spec("pip") is None:
            raise UsageError(
                "pip is not available to the running mlv"
                + ("" if wanted == "pip" else ", and uv was not found (on PATH or beside mlv)"),
                "install uv (pip install uv) or pip beside mlv",
            )
        return Installer("pip", sys.executable)

    def _run(self, args: list[str], what: str, names: list[str]) -> None:
        try:
            # Its own process group: pip re-runs itself under the target interpreter, and an
            # interrupted mlv must stop both before it removes the directory they write to.
            proc = subprocess.Popen(
                args,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
                pass_fds=self.hold,
            )
        except OSError as exc:
            raise InstallFailed(f"cannot run {self.kind}: {exc}", None) from None
        try:
            stdout, stderr = proc.communicate()
        except BaseException:
            stop(proc)
            raise
        if proc.returncode == 0:
            return
        output = (stderr or "") + (stdout or "")
        lines = [line.rstrip() for line in output.splitlines() if line.strip()]
        culprit = blame(names, output)
        error = InstallFailed(
            f"{self.kind} could not {what}"
            + (f": {', '.join(culprit)} cannot be installed" if culprit else ""),
            "the installer's reason is above; a package missing from the index can come from"
            " --find-links DIR or --index-url URL (they pass through to the installer)",
        )
        error.details = tuple(lines[-_TAIL:])
        raise error

    def create_venv(self, interpreter: Path, target: Path) -> None:
        """A bare virtual environment of ``interpreter`` at ``target`` (which may exist, empty
        but for mlv's marker). pip's venv gets no pip of its own: the running pip installs."""
        if self.kind == "uv":
            args = [self.executable, "venv", "--allow-existing", "--no-project", "--python"]
            self._run([*args, str(interpreter), str(target)], "create the environment", [])
        else:
            args = [str(interpreter), "-m", "venv", "--without-pip", str(target)]
            self._run(args, "create the environment", [])

    def install(
        self,
        python: Path,
        requirements: Path,
        options: list[str],
        names: list[str],
        *,
        no_deps: bool,
    ) -> None:
        """Install the requirements file into the environment of ``python``; ``no_deps`` when
        the file lists the whole environment pinned (nothing left to resolve)."""
        if self.kind == "uv":
            args = [self.executable, "pip", "install", "--python", str(python)]
        else:
            args = [
                self.executable, "-m", "pip", "--python", str(python), "install",
                "--no-input", "--disable-pip-version-check",
            ]  # fmt: skip
        if no_deps:
            args.append("--no-deps")
        self._run([*args, "-r", str(requirements), *options], "install the packages", names)


def stop(proc: subprocess.Popen[str]) -> None:
    """Terminate ``proc``'s process group (SIGTERM, then SIGKILL after a grace) and wait until
    every process of it is gone."""
    start = time.monotonic()
    sig = signal.SIGTERM
    while time.monotonic() - start < 15.0:  # zombies nobody reaps would never leave the group
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            break  # the whole group is gone
        if proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(0.05)
        else:
            time.sleep(0.05)
        if time.monotonic() - start > 5.0:
            sig = signal.SIGKILL
    proc.wait()


def export_uv_lock(uv: str, files: dict[str, bytes], work: Path) -> str:
    """uv's own reading of a recorded ``uv.lock`` (with the ``pyproject.toml`` of the same
    revision): the pinned requirements it locks, without the project itself, hashes or comments.
    ``work`` is an empty scratch directory. InstallFailed when uv cannot read them."""
    for name, data in files.items():
        (work / name).write_bytes(data)
    args = [
        uv, "export", "--frozen", "--offline", "--no-config", "--format", "requirements.txt",
        "--no-hashes", "--no-header", "--no-annotate", "--no-emit-project",
        "--directory", str(work),
    ]  # fmt: skip
    try:
        done = subprocess.run(args, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise InstallFailed(f"cannot run uv: {exc}") from None
    if done.returncode != 0:
        last = [ln for ln in done.stderr.splitlines() if ln.strip()][-1:] or ["no reason given"]
        raise InstallFailed(f"uv cannot export uv.lock: {last[0].strip()}")
    return done.stdout


def blame(names: list[str], output: str) -> list[str]:
    """The requirements an installer's error output names (pip: "No matching distribution found
    for x==1"; uv: "Because x==1 was not found ...")."""
    found = []
    for name in names:
        base = re.split(r"[=@ ]", name, maxsplit=1)[0]
        pattern = re.compile(rf"(?<![\w.-]){re.escape(base)}(?![\w-])", re.I)
        if any(pattern.search(line) for line in output.splitlines() if _is_error(line)):
            found.append(name)
    return found


def _is_error(line: str) -> bool:
    lowered = line.lower()
    return any(
        word in lowered
        for word in ("error", "not found", "no matching", "because", "no solution", "failed")
    )
