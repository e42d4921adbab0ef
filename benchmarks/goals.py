"""Issue #13's goals, judged from the measured numbers (never written by hand).

Each goal gives the rows it judges, what was measured, and met (True/False) or None when a number
it needs is missing (DVC not run, a tier not run, no rclone)."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any

WALK = "python scandir+stat walk"
READ = "read every file (cat)"
CP = "cp -r into a directory"
# The bare work each row cannot do faster than, measured on the same data in the same run.
FLOOR_OF = {
    "first snapshot": "read every file into one file (cat >)",
    "status, nothing changed": WALK,
    "status, one byte changed": WALK,
    "re-snapshot, one byte changed": WALK,
    "checkout into empty tree (copy)": CP,
    "push to a directory remote": CP,
    "pull from it (empty cache and tree)": CP,
    "re-snapshot, every file rewritten": READ,
    "status again (repeated)": WALK,
    "checkout into empty tree (hardlink)": "cp -al (hardlinks)",
    "gc": WALK,
}
AFTER_SNAPSHOT = "status right after that snapshot"


@dataclass
class Goal:
    goal: str
    data: str
    operation: str
    measured: str
    met: bool | None


def _median(values: list[dict[str, Any]] | None) -> float | None:
    return statistics.median(v["wall"] for v in values) if values else None


class Results:
    def __init__(self, tiers: dict[str, Any]) -> None:
        self.tiers = tiers

    def wall(self, tier: str, data: str, operation: str, tool: str) -> float | None:
        for row in self.tiers.get(tier, {}).get("rows", []):
            if row["data"] == data and row["operation"] == operation:
                return _median(row["results"].get(tool))
        return None

    def floor(self, tier: str, data: str, name: str) -> float | None:
        return _median(self.tiers.get(tier, {}).get("floors", {}).get(data, {}).get(name))


def _s(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f} s"


def _vs_dvc(m: float | None, d: float | None) -> str:
    ratio = f" ({d / m:.1f}x)" if m and d else ""
    return f"mlv {_s(m)}, DVC {_s(d)}{ratio}"


def evaluate(tiers: dict[str, Any]) -> list[Goal]:
    r, goals = Results(tiers), []
    explicit: set[tuple[str, str]] = set()

    def add(goal: str, data: str, op: str, measured: str, met: bool | None) -> None:
        goals.append(Goal(goal, data, op, measured + _size_note(tiers, data), met))
        explicit.add((data, op))

    m = r.wall("local", "many", "first snapshot", "mlv")
    d = r.wall("local", "many", "first snapshot", "dvc")
    add("first snapshot of many small files <= 3 s", "many", "first snapshot",
        _vs_dvc(m, d), None if m is None else m <= 3.0)  # fmt: skip
    for op, floor_name in (("push to S3 (SeaweedFS)", "rclone copy --transfers 16, upload"),
                           ("pull from S3 (empty cache and tree)",
                            "rclone copy --transfers 16, download")):  # fmt: skip
        m, d = r.wall("s3", "s3", op, "mlv"), r.wall("s3", "s3", op, "dvc")
        floor = r.floor("s3", "s3", floor_name)
        met = None if m is None or d is None or floor is None else d / m >= 10 and m < floor
        add(f"{op.split(' (')[0]}: >= 10x DVC (dvc-s3) and faster than rclone", "s3", op,
            f"{_vs_dvc(m, d)}; rclone {_s(floor)}", met)  # fmt: skip
    dedup = tiers.get("dedup", {}).get("results", {})
    for key, what in (("edit store grew MiB", "stored"), ("edit push grew MiB", "pushed")):
        mv, dv = dedup.get("mlv", {}).get(key), dedup.get("dvc", {}).get(key)
        measured = "mlv " + ("n/a" if mv is None else f"{mv:.2f} MiB")
        measured += ", DVC " + ("n/a" if dv is None else f"{dv:.2f} MiB")
        add(f"1-byte edit in a large file: new bytes {what} <= 1 MiB", "dedup",
            f"new bytes {what}", measured, None if mv is None else mv <= 1.0)  # fmt: skip
    for data in ("big", "many"):
        first = r.wall("local", data, AFTER_SNAPSHOT, "mlv")
        again = r.wall("local", data, "status again (repeated)", "mlv")
        add("status right after a snapshot <= 1.3x a repeated status", data, AFTER_SNAPSHOT,
            f"mlv {_s(first)} against {_s(again)} repeated",
            None if first is None or again is None else first <= 1.3 * again)  # fmt: skip
    changed = r.wall("local", "many", "status, one byte changed", "mlv")
    clean = r.wall("local", "many", "status, nothing changed", "mlv")
    add("status after one changed file of many <= 1.5x the no-change status", "many",
        "status, one byte changed", f"mlv {_s(changed)} against {_s(clean)} unchanged",
        None if changed is None or clean is None else changed <= 1.5 * clean)  # fmt: skip
    m = r.wall("local", "many", "checkout into empty tree (hardlink)", "mlv")
    d = r.wall("local", "many", "checkout into empty tree (hardlink)", "dvc")
    add("hardlink checkout of many files >= 3x DVC", "many",
        "checkout into empty tree (hardlink)", _vs_dvc(m, d),
        None if m is None or d is None else d / m >= 3)  # fmt: skip
    for row in tiers.get("local", {}).get("rows", []):
        data, op = row["data"], row["operation"]
        if (data, op) in explicit or op not in FLOOR_OF:
            continue
        m, d = r.wall("local", data, op, "mlv"), r.wall("local", data, op, "dvc")
        floor = r.floor("local", data, FLOOR_OF[op])
        goals.append(Goal("other row: >= 3x DVC, or <= 1.3x the floor if that is < 3x DVC",
                          data, op,
                          f"{_vs_dvc(m, d)}; floor {_s(floor)}{_size_note(tiers, data)}",
                          _other_row(m, d, floor)))  # fmt: skip
    return goals


def _size_note(tiers: dict[str, Any], data: str) -> str:
    """A warning when a tier ran on smaller data than the goals are written for."""
    tier = {"s3": "s3", "dedup": "dedup"}.get(data, "local")
    size = tiers.get(tier, {}).get("size", "full")
    return "" if size == "full" else f" [{size} data, not the goal's]"


def _other_row(m: float | None, d: float | None, floor: float | None) -> bool | None:
    if m is None or d is None:
        return None
    if d / m >= 3:
        return True
    if floor is not None and floor > 0 and d / floor < 3:
        return m <= 1.3 * floor
    return False


def as_json(goals: list[Goal]) -> list[dict[str, Any]]:
    return [asdict(g) for g in goals]
