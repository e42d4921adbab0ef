"""What the benchmark tiers share: timing one command in its own process, and running helpers."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
MiB = 1024 * 1024


@dataclass
class Measure:
    """Wall time of a command (s) and the peak RSS of its largest process (KiB)."""

    wall: float
    rss_kib: int


def timed_isolated(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> Measure:
    """Run ``cmd`` under measure_one.py, a fresh child, so RUSAGE_CHILDREN's peak is its own."""
    wrapper = [sys.executable, str(HERE / "measure_one.py"), "--", *cmd]
    out = subprocess.run(wrapper, cwd=cwd, capture_output=True, text=True, check=False, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr[-800:]}")
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    return Measure(doc["wall"], doc["rss_kib"])


def run_cmds(cmds: list[list[str]], cwd: Path, env: dict[str, str] | None = None) -> Measure:
    """Several commands as one operation: their summed time, the largest peak RSS."""
    total, peak = 0.0, 0
    for cmd in cmds:
        m = timed_isolated(cmd, cwd, env)
        total += m.wall
        peak = max(peak, m.rss_kib)
    return Measure(total, peak)


def sh(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    subprocess.run(
        cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )


def median_wall(values: list[Measure]) -> float | None:
    return statistics.median(m.wall for m in values) if values else None


def median_rss(values: list[Measure]) -> float | None:
    return statistics.median(m.rss_kib for m in values) if values else None


def version_of(cmd: list[str]) -> str:
    """The first line a tool prints for its version, or "n/a"."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "n/a"
    lines = (out.stdout or out.stderr).strip().splitlines()
    return lines[0].strip() if lines else "n/a"


def mlv_executable() -> str | None:
    return shutil.which("mlv", path=str(Path(sys.executable).parent)) or shutil.which("mlv")


def own_interpreter(exe: str, bin_dir: Path) -> str:
    """``exe`` itself, or when it is a console script whose ``#!`` names the Python of another
    virtual environment (a copied venv keeps its origin's), a copy in ``bin_dir`` that runs the
    Python beside it: so the tools measured are the ones installed in this environment."""
    path = Path(os.path.abspath(exe))
    try:
        with open(path, "rb") as handle:
            first = handle.readline()
    except OSError:
        return exe
    own = path.parent / "python"
    if not first.startswith(b"#!") or not own.exists():
        return exe
    named = first[2:].strip().decode(errors="replace")
    if named == str(own) or Path(named).parent == path.parent:
        return exe
    bin_dir.mkdir(parents=True, exist_ok=True)
    copy = bin_dir / path.name
    copy.write_bytes(f"#!{own}\n".encode() + path.read_bytes().split(b"\n", 1)[1])
    copy.chmod(0o755)
    return str(copy)


def git_repo(repo: Path) -> None:
    """An empty git repository with an identity, at ``repo`` (created)."""
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    sh(["git", "init", "-q"], repo)
    sh(["git", "config", "user.email", "bench@mlv.invalid"], repo)
    sh(["git", "config", "user.name", "bench"], repo)


def environ(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}
