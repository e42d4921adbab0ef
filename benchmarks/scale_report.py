"""The scale tier's results (scale.json) and its section of docs/benchmarks.md: the table of mlv
beside DVC and an earlier mlv ("before"), the floors, and the issue's goals judged from them."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import Measure

BEGIN = "<!-- scale benchmark: written by benchmarks/scale.py -->"
END = "<!-- end of scale benchmark -->"
TEN_MILLION = 10_000_000
EIGHT_GB = 8 * 10**9
OPERATIONS = [
    "first snapshot",
    "status, nothing changed",
    "status, one file changed",
    "checkout into empty tree",
    "push to a directory remote",
    "pull into an empty cache and tree",
    "verify",
    "gc",
]
WALK, READ = "walk (floor)", "read every file (floor)"
NONE = {("DVC", "verify"): "none (DVC has no verify)"}


@dataclass
class Results:
    """{files: {tool: {operation: Measure}}} and, per run, its version, date, length, state."""

    rows: dict[int, dict[str, dict[str, Measure]]] = field(default_factory=dict)
    runs: dict[str, dict[str, object]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, doc: dict[str, object]) -> Results:
        out = cls()
        for key, value in doc.items():
            if key.isdigit() and isinstance(value, dict):
                out.rows[int(key)] = {
                    tool: {op: Measure(m["wall"], m["rss_kib"]) for op, m in ops.items()}
                    for tool, ops in value.items()
                }
        runs = doc.get("runs")
        out.runs = dict(runs) if isinstance(runs, dict) else {}
        return out

    def to_json(self) -> dict[str, object]:
        doc: dict[str, object] = {
            str(size): {t: {o: m.__dict__ for o, m in ops.items()} for t, ops in by_tool.items()}
            for size, by_tool in sorted(self.rows.items())
        }
        doc["runs"] = self.runs
        return doc

    def start_run(self, tool: str, size: int, version: str) -> None:
        """Forget this tool's earlier figures at this size; note when and what runs now."""
        self.rows.setdefault(size, {}).pop(tool, None)
        self.runs[f"{tool} {size}"] = {
            "version": version,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "started": time.time(),
            "seconds": 0.0,
            "complete": False,
        }

    def add(self, size: int, tool: str, op: str, m: Measure) -> None:
        self.rows.setdefault(size, {}).setdefault(tool, {})[op] = m
        run = self.runs.get(f"{tool} {size}")
        if run is not None:
            run["seconds"] = time.time() - float(str(run["started"]))
            run["load"] = max(float(str(run.get("load", 0))), os.getloadavg()[0])

    def finish_run(self, tool: str, size: int) -> None:
        run = self.runs[f"{tool} {size}"]
        run["seconds"], run["complete"] = time.time() - float(str(run["started"])), True

    def get(self, size: int, tool: str, op: str) -> Measure | None:
        return self.rows.get(size, {}).get(tool, {}).get(op)


def cells(m: Measure | None, size: int, missing: str = "not measured") -> list[str]:
    if m is None:
        return [missing, "", ""]
    return [f"{m.wall:.2f} s", f"{m.rss_kib / 1024:.0f} MiB", f"{m.rss_kib * 1024 / size:.0f}"]


def table(res: Results, before: Results | None, size: int) -> list[str]:
    has_before = before is not None and "mlv" in before.rows.get(size, {})
    has_dvc = "DVC" in res.rows.get(size, {})
    head = ["operation", "mlv time", "mlv peak RSS", "mlv B/file"]
    if has_before:
        head += ["before: time", "before: peak RSS", "before: B/file"]
    if has_dvc:
        head += ["DVC time", "DVC peak RSS", "DVC B/file"]
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    for op in OPERATIONS:
        row = [op, *cells(res.get(size, "mlv", op), size)]
        if has_before and before is not None:
            row += cells(before.get(size, "mlv", op), size)
        if has_dvc:
            row += cells(res.get(size, "DVC", op), size, NONE.get(("DVC", op), "not measured"))
        if any(c not in ("not measured", "") for c in row[1:]):
            lines.append("| " + " | ".join(row) + " |")
    return lines


def ratio(res: Results | None, size: int, op: str, base: tuple[str, str]) -> float | None:
    if res is None:
        return None
    a, b = res.get(size, "mlv", op), res.get(size, *base)
    return a.wall / b.wall if a and b and b.wall else None


def worst_per_file(res: Results | None, size: int) -> tuple[float, str] | None:
    ops = (res.rows.get(size, {}).get("mlv", {}) if res else {}).items()
    per = [(m.rss_kib * 1024 / size, op) for op, m in ops]
    return max(per) if per else None


def goals(res: Results, before: Results | None, size: int) -> list[str]:
    lines = ["| goal | measured (mlv) | before | met |", "| --- | ---: | ---: | --- |"]

    def verdict(value: float | None, limit: float) -> str:
        return "not measured" if value is None else ("**met**" if value <= limit else "not met")

    def fmt(value: float | None, unit: str = "x") -> str:
        return "—" if value is None else f"{value:.2f}{unit}"

    for goal, op, base, limit in (
        ("status, nothing changed <= 2x the walk", "status, nothing changed", ("floor", WALK), 2),
        (
            "status, one file changed <= 1.5x nothing changed",
            "status, one file changed",
            ("mlv", "status, nothing changed"),
            1.5,
        ),
        ("first snapshot <= 2x reading every file", "first snapshot", ("floor", READ), 2),
    ):
        now, then = ratio(res, size, op, base), ratio(before, size, op, base)
        lines.append(f"| {goal} | {fmt(now)} | {fmt(then)} | {verdict(now, limit)} |")
    now_w, then_w = worst_per_file(res, size), worst_per_file(before, size)
    show = "—" if now_w is None else f"{now_w[0]:.0f} B ({now_w[1]})"
    old = "—" if then_w is None else f"{then_w[0]:.0f} B ({then_w[1]})"
    met = verdict(now_w[0] if now_w else None, 500)
    lines.append(f"| peak RSS <= 500 B per file, every command | {show} | {old} | {met} |")
    big = res.rows.get(TEN_MILLION, {}).get("mlv", {})
    if big:
        top = max(m.rss_kib * 1024 for m in big.values())
        met = verdict(top, EIGHT_GB)
        lines.append(f"| 10,000,000 files in 8 GB | {top / 1e9:.2f} GB peak | — | {met} |")
    elif now_w is not None:
        guess = now_w[0] * TEN_MILLION / 1e9
        lines.append(
            f"| 10,000,000 files in 8 GB | not measured (projected from {size:,}:"
            f" {guess:.1f} GB) | — | not measured |"
        )
    return lines


def section(res: Results, before: Results | None, dirs: int) -> str:
    sizes = sorted(res.rows)
    main = max((s for s in sizes if s != TEN_MILLION and res.rows[s].get("mlv")), default=None)
    out = [
        BEGIN,
        "",
        "## Scale: a million files",
        "",
        "Produced by `python benchmarks/scale.py` (`--tools`, `--merge`, `--before`,"
        " `--ten-million`: see its docstring)."
        f" Machine: {platform.system()} {platform.machine()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}. Data: files of about 10 bytes in {dirs:,}"
        " directories (10x as many directories at 10,000,000 files), generated afresh for each"
        " tool. One run each: wall time of the whole command, peak RSS of that command (the"
        " largest process, interpreter included), bytes per file = peak RSS / files. mlv and DVC"
        " push to a local directory remote; the pull starts from an empty cache and an empty"
        " data directory. The floors ran on the first tool's copy of the tree."
        + (
            " *before*: mlv's figures in an earlier run (the code before issue 18)."
            if before
            else ""
        ),
        "",
        "Runs:",
        "",
    ]
    listed = [("", k, r) for k, r in sorted(res.runs.items())]
    listed += [("before: ", k, r) for k, r in sorted(before.runs.items())] if before else []
    for prefix, key, run in listed:
        state = "complete" if run.get("complete") else "interrupted (partial)"
        secs = float(str(run.get("seconds", 0)))
        load = f", 1-min load up to {run['load']:.1f}" if "load" in run else ""
        when = f"{run.get('version')}, {run.get('date')}, {secs / 60:.1f} min{load}"
        tool, size = key.rsplit(" ", 1)
        note = f" ({run['note']})" if run.get("note") else ""
        out.append(f"- {prefix}{tool}, {int(size):,} files: {when}, {state}{note}")
    for size in sizes:
        out += ["", f"### {size:,} files", "", *table(res, before, size)]
        floor = res.rows[size].get("floor", {})
        if floor:
            out += ["", "| floor | time | peak RSS |", "| --- | ---: | ---: |"]
            out += [
                f"| {op} | {m.wall:.2f} s | {m.rss_kib / 1024:.0f} MiB |" for op, m in floor.items()
            ]
    if main is not None:
        out += ["", f"### Goals of issue 18 (at {main:,} files)", "", *goals(res, before, main)]
    out += ["", END]
    return "\n".join(out)


def write_section(path: Path, res: Results, before: Results | None, dirs: int) -> None:
    text = section(res, before, dirs)
    doc = path.read_text() if path.exists() else ""
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        doc = head + text + rest.split(END, 1)[1]
    else:
        doc = doc.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(doc)
