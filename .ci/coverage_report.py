"""Print branch coverage per layer of the package from the combined data of `make coverage`."""

from __future__ import annotations

import io

import coverage

LAYERS = ("storage", "model", "core", "adapters", "render", "cli")


def main() -> None:
    cov = coverage.Coverage()
    cov.load()
    sink = io.StringIO()  # the per-file table; `coverage report` shows it when wanted
    for layer in LAYERS:
        total = cov.report(include=[f"mlv/{layer}/*"], file=sink, precision=2)
        print(f"mlv/{layer:<9} {total:6.2f}%")
    total = cov.report(include=["mlv/*"], file=sink, precision=2)
    print(f"{'mlv':<13} {total:6.2f}%")


if __name__ == "__main__":
    main()
