"""Summarise `make mutation`: per module, how many mutants were killed, survived or not yet run.

Reads mutmut's result files (`mutants/**/*.py.meta`, JSON). The score is killed / checked, where
checked leaves out mutants not run yet; a timeout counts as killed (the mutant made a test hang).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

KILLED = {1, 3, 36, 24, -24, 152, 255, 37}  # test failed, pytest error, timeout, type check
SURVIVED = {0}
NO_TESTS = {5, 33}


def classify(code: int | None) -> str:
    if code is None:
        return "not run"
    if code in KILLED:
        return "killed"
    if code in SURVIVED:
        return "survived"
    if code in NO_TESTS:
        return "no tests"
    return "other"


def main() -> None:
    metas = sorted(Path("mutants").rglob("*.py.meta"))
    if not metas:
        raise SystemExit("no mutmut results under mutants/: run `make mutation` first")
    print(
        f"{'module':<28} {'mutants':>7} {'killed':>6} {'survived':>8} {'no tests':>8}"
        f" {'not run':>7} {'score':>6}"
    )
    overall: Counter[str] = Counter()
    for meta in metas:
        codes = json.loads(meta.read_text())["exit_code_by_key"].values()
        counts = Counter(classify(code) for code in codes)
        overall += counts
        module = str(meta.relative_to("mutants")).removesuffix(".meta")
        _row(module, len(codes), counts)
    _row("all", sum(overall.values()), overall)


def _row(name: str, total: int, counts: Counter[str]) -> None:
    checked = counts["killed"] + counts["survived"] + counts["no tests"]
    score = f"{100 * counts['killed'] / checked:5.1f}%" if checked else "    -"
    print(
        f"{name:<28} {total:>7} {counts['killed']:>6} {counts['survived']:>8}"
        f" {counts['no tests']:>8} {counts['not run']:>7} {score:>6}"
    )


if __name__ == "__main__":
    main()
