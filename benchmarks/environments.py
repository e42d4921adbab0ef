#!/usr/bin/env python3
"""What environments cost: capture inside `mlv snapshot`, and `mlv reproduce --env recorded` with
a fresh environment against a cached one.

    python benchmarks/environments.py            # 10 runs each
    python benchmarks/environments.py --runs 3 --pip

Capture: the environment capture of this interpreter timed in-process, and `mlv snapshot` (one
changed small file) timed as a whole process with capture as shipped and with capture replaced by
a constant record, alternately, in the same repository. Reproduce: a small virtual environment
(mlv's runtime and a tiny package, from wheels made here: offline) runs mlv; one stage prints the
package's version; the package is upgraded after the snapshot; then `mlv reproduce --env recorded`
runs with an empty environment cache (build included) and again with it filled.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.core.env.wheels import repack, runtime_wheels, small_venv, tiny_wheel  # noqa: E402

# `mlv snapshot` with capture replaced by the record it returned once (what capture adds).
STUBBED = """
import sys
from mlv.core.record import snapshot
from mlv.core.env import capture as c
record = c.capture(__import__("pathlib").Path.cwd(), (), None)
snapshot.capture_environment = lambda *a, **k: record
from mlv.cli.main import main
sys.exit(main(sys.argv[1:]))
"""
SHIPPED = "import sys\nfrom mlv.cli.main import main\nsys.exit(main(sys.argv[1:]))\n"


def git_env() -> dict[str, str]:
    names = ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL")
    return {**os.environ, **{n: "bench" if "NAME" in n else "bench@mlv.invalid" for n in names}}


def run(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    clock = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - clock


def capture_cost(work: Path, runs: int) -> None:
    from mlv.core.env.capture import capture, installed_packages

    per_call = min(timeit.repeat(lambda: capture(work, (), None), number=10, repeat=5)) / 10
    print(
        f"capture, in-process: {per_call * 1000:.2f} ms ({len(installed_packages())} distributions)"
    )
    repo, env = work / "snap", git_env()
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([sys.executable, "-m", "mlv", "init"], cwd=repo, env=env, check=True,
                   capture_output=True)  # fmt: skip
    (repo / "data.txt").write_text("0\n")
    subprocess.run([sys.executable, "-m", "mlv", "track", "data.txt"], cwd=repo, env=env,
                   check=True, capture_output=True)  # fmt: skip
    times: dict[str, list[float]] = {"shipped": [], "capture stubbed": []}
    for i in range(runs):
        for label, code in (("shipped", SHIPPED), ("capture stubbed", STUBBED)):
            (repo / "data.txt").write_text(f"{label} {i}\n")
            args = [sys.executable, "-c", code, "snapshot", "-m", f"{label} {i}"]
            times[label].append(run(args, repo, env))
    for label, values in times.items():
        print(f"mlv snapshot, {label}: median {statistics.median(values):.3f} s,"
              f" min {min(values):.3f} s ({runs} runs)")  # fmt: skip


def reproduce_cost(work: Path, runs: int, installer: str) -> None:
    wheels = runtime_wheels(work / "wheels")
    repack(wheels, "pip")
    tiny_wheel(wheels, "1.0")
    tiny_wheel(wheels, "2.0")
    venv = work / f"venv-{installer}"
    python = small_venv(venv, wheels, "tinypkg==1.0", *(["pip"] if installer == "pip" else []))
    repo = work / f"repo-{installer}"
    repo.mkdir()
    cache = work / f"cache-{installer}"
    path = [str(venv / "bin"), str(Path(sys.executable).parent), os.environ["PATH"]]
    env = {**git_env(), "PATH": os.pathsep.join(path), "MLV_ENV_CACHE": str(cache)}

    def mlv(*args: str) -> float:
        return run([str(python), "-m", "mlv", *args], repo, env)

    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    mlv("init")
    stage = 'python -c "import tinypkg as t; print(t.__version__)" > v.txt'
    mlv("stage", "add", "ver", "-o", "v.txt", "--", stage)
    mlv("run")
    mlv("snapshot", "-m", "v1")
    uv = str(Path(sys.executable).parent / "uv")
    subprocess.run([uv, "pip", "install", "-q", "--python", str(python), "--no-index",
                    "--find-links", str(wheels), "tinypkg==2.0"], check=True)  # fmt: skip
    offline = ["--no-index", "--find-links", str(wheels), "--installer", installer]
    fresh, cached = [], []
    for _ in range(runs):
        subprocess.run(["rm", "-rf", str(cache)], check=True)
        fresh.append(mlv("reproduce", "--env", "recorded", *offline))
        cached.append(mlv("reproduce", "--env", "recorded", *offline))
    print(f"reproduce --env recorded ({installer}), fresh environment: median"
          f" {statistics.median(fresh):.2f} s; cached: median {statistics.median(cached):.2f} s"
          f" ({runs} runs)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--pip", action="store_true", help="also measure restores with pip")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlv-bench-env-") as tmp:
        work = Path(tmp)
        capture_cost(work, options.runs)
        reproduce_cost(work, options.runs, "uv")
        if options.pip:
            reproduce_cost(work, max(1, options.runs // 3), "pip")


if __name__ == "__main__":
    main()
