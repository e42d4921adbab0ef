"""Finding an installed interpreter of a recorded implementation and version (exactly: a restore
that quietly used 3.11.2 for a run recorded with 3.11.7 would not be the recorded environment)."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from mlv.adapters.installer import find_uv
from mlv.errors import UsageError
from mlv.model.environment import PythonRecord

_VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+[A-Za-z0-9.+]*$")
_PROBE = "import platform; print(platform.python_implementation(), platform.python_version())"


@dataclass(frozen=True, slots=True)
class Interpreter:
    path: Path
    implementation: str
    version: str


def check_version(record: PythonRecord) -> None:
    """A recorded interpreter that is not ``X.Y.Z`` is a damaged record, not a version to find."""
    if not _VERSION.match(record.version) or not re.match(r"^\w+$", record.implementation):
        raise UsageError(
            f"the environment record names the interpreter"
            f" {record.implementation!r} {record.version!r}, which is not an interpreter version",
            "the record was edited or damaged: restore mlv.lock from git, or record the"
            " environment again with `mlv snapshot`",
        )


def probe(path: Path) -> Interpreter | None:
    """Ask ``path`` what it is; None when it does not run as a Python interpreter."""
    if str(path) == sys.executable:
        return Interpreter(path, platform.python_implementation(), platform.python_version())
    try:
        done = subprocess.run(
            [str(path), "-I", "-S", "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = done.stdout.split()
    if done.returncode != 0 or len(parts) != 2:
        return None
    return Interpreter(path, parts[0], parts[1])


def _candidates(record: PythonRecord) -> tuple[list[Path], list[str]]:
    """Interpreters that may be ``record``, and the places looked in (for the error)."""
    major_minor = ".".join(record.version.split(".")[:2])
    names = (f"python{major_minor}", "python3", "python")
    places = ["the running interpreter"]
    found = [Path(sys.executable)]
    path_dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d]
    places.append(f"PATH ({os.pathsep.join(path_dirs)})")
    found += [Path(d) / n for d in path_dirs for n in names]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    places.append(str(pyenv))
    found.append(pyenv / record.version / "bin" / "python")
    uv = find_uv()
    if uv is not None:
        places.append("uv's interpreters (`uv python find`)")
        try:
            done = subprocess.run(
                [uv, "python", "find", "--no-project", f"=={record.version}"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            done = None
        if done is not None and done.returncode == 0 and done.stdout.strip():
            found.append(Path(done.stdout.strip()))
    return found, places


def find_interpreter(record: PythonRecord, given: Path | None = None) -> Interpreter:
    """The interpreter to build ``record``'s environment with: ``given`` when the user named one
    (any version: their call), else an installed one of exactly the recorded version."""
    check_version(record)
    if given is not None:
        found = probe(given)
        if found is None:
            raise UsageError(f"{given} is not a Python interpreter that runs", "give another path")
        return found
    running = probe(Path(sys.executable))
    if running is not None and (running.implementation, running.version) == (
        record.implementation,
        record.version,
    ):
        return running  # the common case, without looking further
    seen: set[str] = set()
    candidates, places = _candidates(record)
    for path in candidates:
        try:
            key = str(path.resolve(strict=True))
        except OSError:
            continue
        if key in seen or not os.access(path, os.X_OK):
            continue
        seen.add(key)
        found = probe(path)
        if found and (found.implementation, found.version) == (
            record.implementation,
            record.version,
        ):
            return found
    raise UsageError(
        f"no {record.implementation} {record.version} interpreter is installed (the recorded one);"
        f" looked in: {'; '.join(places)}",
        f"install it (e.g. `uv python install {record.version}` or `pyenv install"
        f" {record.version}`), or name an interpreter with --python PATH",
    )
