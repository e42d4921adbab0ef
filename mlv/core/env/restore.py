"""Building a recorded environment into a virtual environment, so that nothing half-built is ever
taken for a ready one.

A directory is a ready environment only when its marker ``mlv-env.json`` exists, which is written
last (atomically) and holds the fingerprint it was built for. While it builds, ``.mlv-building``
says so: a restore that fails removes what it made; one that is killed leaves the building mark,
and the next restore of that directory (or the environment cache) removes it and starts again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from mlv.adapters.installer import Installer, export_uv_lock, venv_python
from mlv.core.env.interpreters import Interpreter
from mlv.core.env.plan import RestorePlan
from mlv.errors import UsageError, listing
from mlv.model.environment import EnvironmentRecord, normalise
from mlv.model.secrets import redact_url, url_credentials
from mlv.storage.fsutil import write_bytes_atomic

MARKER = "mlv-env.json"
BUILDING = ".mlv-building"
REQUIREMENTS = ".mlv-requirements.txt"
CODE = "mlv-code"  # the run's own code, exported into the environment that installs it

# Steps reported while building: ("venv" | "install" | "code" | "mlv" | "verify", detail).
OnStep = Callable[[str, str], None]

# Lists the distributions of the environment it runs in, as capture does (no mlv needed there).
_LIST = r"""
import json, os, re, sys
pat = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._]*?)-([0-9][^-]*?)\.(dist-info|egg-info)$")
found = {}
for entry in sys.path:
    try:
        names = os.listdir(entry or ".")
    except OSError:
        continue
    for n in names:
        m = pat.match(n)
        if m:
            found.setdefault(re.sub(r"[-_.]+", "-", m.group(1)).lower(), m.group(2))
print(json.dumps(found))
"""


@dataclass
class BuildResult:
    path: Path
    python: str  # the interpreter version the environment runs
    installer: str
    source: str
    built: bool  # False: a ready environment was reused
    seconds: float = 0.0
    missing: list[str] = field(default_factory=list)  # recorded, not in the built environment
    different: list[str] = field(default_factory=list)  # name recorded -> built
    extra: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "python": self.python,
            "installer": self.installer,
            "source": self.source,
            "built": self.built,
            "seconds": round(self.seconds, 3),
            "missing": self.missing,
            "different": self.different,
            "extra": self.extra,
            "notes": self.notes,
        }


def ready(path: Path) -> dict[str, Any] | None:
    """The marker of a ready environment at ``path``, or None (absent, building, unreadable)."""
    if (path / BUILDING).exists():
        return None
    try:
        data = json.loads((path / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_leftover(path: Path) -> bool:
    """A directory a killed restore left behind (it may be removed)."""
    return (path / BUILDING).exists()


def discard(path: Path) -> None:
    """Remove an environment directory, its building mark last: a removal that is itself
    interrupted still leaves a directory marked as a leftover."""
    if not path.exists():
        return
    for child in list(path.iterdir()):
        if child.name == BUILDING:
            continue
        for attempt in range(20):
            try:
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
                break
            except FileNotFoundError:
                break
            except OSError as exc:  # a writer that just stopped: its last files appear late
                if exc.errno != errno.ENOTEMPTY or attempt == 19:
                    raise
                time.sleep(0.05)
    (path / BUILDING).unlink(missing_ok=True)
    path.rmdir()


def damage(path: Path, marker: dict[str, Any]) -> str | None:
    """Why the ready environment at ``path`` cannot be used as it is (None: it can): its
    interpreter does not run, or its packages are no longer those installed when it was built."""
    python = venv_python(path)
    try:
        done = subprocess.run(
            [str(python), "-I", "-c", _LIST], capture_output=True, text=True, check=False
        )
    except OSError as exc:
        return f"its interpreter {python} does not run ({exc.strerror})"
    if done.returncode != 0:
        return f"its interpreter {python} does not run (exit {done.returncode})"
    installed = marker.get("installed")
    if not isinstance(installed, dict):
        return None  # built by an mlv that did not write the list down
    try:
        now = json.loads(done.stdout)
    except ValueError:
        now = None
    if now != installed:
        now = now if isinstance(now, dict) else {}
        gone = sorted(f"{n}=={v}" for n, v in installed.items() if now.get(n) != v)
        new = sorted(f"{n}=={v}" for n, v in now.items() if installed.get(n) != v)
        parts = ([f"missing or changed: {listing(gone)}"] if gone else []) + (
            [f"not installed by mlv: {listing(new)}"] if new else []
        )
        return "its packages changed since it was built (" + "; ".join(parts) + ")"
    return None


def safe_options(options: list[str]) -> list[str]:
    """Installer options as they may be written down: URLs with credentials redacted."""
    return [redact_url(o) if url_credentials(o) is not None else o for o in options]


def _listed(python: Path) -> dict[str, str]:
    done = subprocess.run(
        [str(python), "-I", "-c", _LIST], capture_output=True, text=True, check=False
    )
    try:
        found = json.loads(done.stdout) if done.returncode == 0 else {}
    except ValueError:
        found = {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def _site_packages(python: Path) -> Path:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    done = subprocess.run([str(python), "-I", "-c", code], capture_output=True, text=True)
    if done.returncode != 0 or not done.stdout.strip():
        raise UsageError(f"{python} cannot say where its packages go", done.stderr.strip()[-200:])
    return Path(done.stdout.strip())


def listed_record(plan: RestorePlan, venv: Path, python: str = "") -> EnvironmentRecord:
    """``plan``'s record with the packages the environment at ``venv`` really holds (mlv and
    the project itself, which a restore links rather than installs, counted as recorded) and
    the interpreter version it runs (``python``, when known)."""
    built = _listed(venv_python(venv))
    kept = {normalise(p) for p in plan.project}
    if plan.own:
        kept |= {"mlv", "mlv-cli"}
    recorded = plan.record.versions()
    for name in kept & recorded.keys():
        built[name] = recorded[name]
    packages = sorted(f"{n}=={v}" for n, v in built.items())
    interpreter = plan.record.python
    if python:
        interpreter = msgspec.structs.replace(interpreter, version=python)
    return msgspec.structs.replace(plan.record, packages=packages, python=interpreter)


def _verify(plan: RestorePlan, python: Path, result: BuildResult) -> dict[str, str]:
    built = _listed(python)
    # What a restore does not put back: mlv's own record (installed separately), the project
    # itself (code), and the installers' seed packages when the recorded list was not used.
    skip = {normalise(p) for p in plan.project}
    recorded = {n: v for n, v in plan.record.versions().items() if n not in skip}
    for name, version in sorted(recorded.items()):
        if name in ("mlv", "mlv-cli") and plan.own:
            continue
        if name not in built:
            result.missing.append(f"{name}=={version}")
        elif built[name] != version:
            result.different.append(f"{name} {version} -> {built[name]}")
    result.extra = sorted(f"{n}=={v}" for n, v in built.items() if n not in recorded)
    return built


def build(
    plan: RestorePlan,
    target: Path,
    installer: Installer,
    interpreter: Interpreter,
    options: list[str],
    *,
    about: dict[str, Any],
    project_code: Callable[[Path], None] | None = None,
    on_step: OnStep = lambda *_: None,
    hold: int | None = None,
) -> BuildResult:
    """Create the environment of ``plan`` at ``target`` (absent, empty, or a leftover of a killed
    build); on any failure, interrupt included, what was made is removed. ``project_code``
    writes the run's code into a new directory (``target/mlv-code``), from which the project
    itself is installed editable when the record lists it. ``hold``: the descriptor of the
    lock the caller holds on ``target``, kept by the installer while it runs."""
    clock = time.monotonic()
    existed = _claim(target)
    if hold is not None:
        installer = dataclasses.replace(installer, hold=(hold,))
    try:
        (target / BUILDING).write_text(f"{os.getpid()}\n")
        on_step("venv", f"{installer.kind}, {interpreter.implementation} {interpreter.version}")
        installer.create_venv(interpreter.path, target)
        python = venv_python(target)
        venv = _Venv(target, python, installer, options, on_step)
        lines, source, notes = _requirements(plan, installer)
        _install_listed(venv, plan, lines, source)
        if plan.project and project_code is not None:
            _install_project(venv, plan, project_code, about)
        if plan.own_link is not None:
            on_step("mlv", f"linking the running mlv from {plan.own_link}")
            (_site_packages(python) / "_mlv_running.pth").write_text(f"{plan.own_link}\n")
        result = BuildResult(target, interpreter.version, installer.kind, source, True, notes=notes)
        result.notes.extend(_interpreter_note(plan, interpreter))
        on_step("verify", "listing what was installed")
        installed = _verify(plan, python, result)
        result.seconds = time.monotonic() - clock
        _mark_ready(venv, plan, about, result, installed)
        return result
    except BaseException:
        with contextlib.suppress(OSError):
            discard(target)
        if existed:
            target.mkdir(exist_ok=True)  # it was the user's empty directory: give it back
        raise


def _claim(target: Path) -> bool:
    """Make ``target`` an empty directory to build in; whether it existed (a failure keeps it)."""
    existed = target.exists()
    if existed and is_leftover(target):
        discard(target)
        existed = False
    if existed and any(target.iterdir()):
        raise UsageError(f"{target} exists and is not empty", "give a new directory")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot create {target}: {exc.strerror}", "give a directory you can write to"
        ) from None
    return existed


@dataclass(frozen=True, slots=True)
class _Venv:
    """The environment a build installs into, and how: its installer, options and progress."""

    target: Path
    python: Path
    installer: Installer
    options: list[str]
    on_step: OnStep


def _install_listed(venv: _Venv, plan: RestorePlan, lines: list[str], source: str) -> None:
    """Install the packages ``lines`` pins, written down as the installer's requirements file."""
    requirements = venv.target / REQUIREMENTS
    requirements.write_text("".join(f"{r}\n" for r in lines))
    if lines:
        venv.on_step("install", f"{len(lines)} package(s) from {source}")
        venv.installer.install(venv.python, requirements, venv.options, lines, no_deps=plan.no_deps)


def _install_project(
    venv: _Venv, plan: RestorePlan, project_code: Callable[[Path], None], about: dict[str, Any]
) -> None:
    """Install the project itself, editable, from the run's code written into the environment."""
    # The project itself was an editable install: it is code, installed from the run's
    # code, which lives inside the environment (removed with it, never the work tree).
    code = venv.target / CODE
    venv.on_step("code", f"the code of {about.get('commit', '?')[:10]} into {code}")
    project_code(code)
    venv.on_step("install", f"the project itself, editable from {code}")
    requirements = venv.target / REQUIREMENTS
    requirements.write_text(f"-e {code}\n")
    venv.installer.install(venv.python, requirements, venv.options, plan.project, no_deps=True)


def _interpreter_note(plan: RestorePlan, used: Interpreter) -> list[str]:
    """A note when the environment was built with another interpreter than the recorded one."""
    recorded = plan.record.python
    if (used.implementation, used.version) == (recorded.implementation, recorded.version):
        return []
    return [
        f"built with {used.implementation} {used.version} ({used.path}), not the recorded"
        f" {recorded.implementation} {recorded.version}"
    ]


def _mark_ready(
    venv: _Venv,
    plan: RestorePlan,
    about: dict[str, Any],
    result: BuildResult,
    installed: dict[str, str],
) -> None:
    """Mark the environment ready: its marker written (atomically, last), the building mark gone."""
    marker = {
        **about,
        "fingerprint": str(plan.record.fingerprint),
        "python": result.python,
        "installer": result.installer,
        "options": safe_options(venv.options),
        "source": result.source,
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(result.seconds, 3),
        "installed": installed,
    }
    write_bytes_atomic(venv.target / MARKER, json.dumps(marker, indent=2, sort_keys=True).encode())
    (venv.target / BUILDING).unlink()


def _requirements(plan: RestorePlan, installer: Installer) -> tuple[list[str], str, list[str]]:
    """What to install, from where, and notes: uv's export of the recorded uv.lock when uv
    installs and the export pins exactly the recorded environment, else the plan's list."""
    notes = list(plan.notes)
    if plan.uv_project is None or installer.kind != "uv":
        return plan.requirements, plan.source, notes
    with tempfile.TemporaryDirectory(prefix="mlv-uv-export-") as work:
        try:
            text = export_uv_lock(installer.executable, plan.uv_project, Path(work))
            lines, why = plan.lockfile_pins(text, "uv.lock")
        except UsageError as exc:  # InstallFailed too: uv could not read them
            lines, why = [], exc.message
    if not lines:
        notes.append(f"{why}; installed the recorded package list instead")
        return plan.requirements, plan.source, notes
    own = [plan.own_requirement] if plan.own_requirement else []
    return lines + own, "lockfile uv.lock (uv export)", notes


def mismatch_note(result: BuildResult) -> str | None:
    """One line when the built environment is not exactly the recorded one."""
    parts = []
    if result.missing:
        parts.append(f"not installed: {listing(result.missing)}")
    if result.different:
        parts.append(f"other versions: {listing(result.different)}")
    return "; ".join(parts) or None


def environ_for(
    venv: Path, code: Path | None, base: dict[str, str] | None = None
) -> dict[str, str]:
    """The variables of a process that runs inside ``venv`` (its bin first on PATH), with the
    run's ``code`` importable when the project itself was an editable install."""
    env = dict(os.environ if base is None else base)
    env.pop("PYTHONHOME", None)
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join([str(venv_python(venv).parent), env.get("PATH", "")])
    if code is not None:
        roots = [str(code / "src")] if (code / "src").is_dir() else []
        roots.append(str(code))
        if env.get("PYTHONPATH"):
            roots.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(roots)
    return env
