"""The report page from a made-up report: bounded in size whatever the project holds, and every
text escaped (hundreds of snapshots, many metrics and params, long hostile values)."""

from __future__ import annotations

import pytest

from mlv.core.report.gather import MAX_SNAPSHOTS
from mlv.model.experiments import Experiment, ExperimentTable
from mlv.model.report import Report
from mlv.render.report.page import MAX_CHARTS, MAX_PARAMS, render_report

EVIL = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def big_report(snapshots: int, metrics: int, params: int) -> Report:
    table = ExperimentTable(
        params=[f"p{j}{EVIL}" for j in range(params)],
        metrics=[f"m{j}" for j in range(metrics)],
    )
    for i in range(snapshots):
        row = Experiment(f"{i:040x}", "2026-01-01T00:00:00+00:00", "me", f"run {i} {EVIL}")
        row.params = dict.fromkeys(table.params, EVIL * 200 if i % 2 else i)
        row.metrics = dict.fromkeys(table.metrics, i * 0.01 if i % 7 else "n/a")
        row.changed_params = table.params[:3]
        table.rows.append(row)
    table.rows.reverse()  # newest first
    return Report("proj<b>", "2026-01-01T00:00:00+00:00", table)


@pytest.mark.slow
def test_hundreds_of_snapshots_and_many_columns_stay_bounded_and_escaped() -> None:
    page = render_report(big_report(MAX_SNAPSHOTS, metrics=MAX_CHARTS + 10, params=150))
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert page.count("<figure class='chart metric'") == MAX_CHARTS
    assert "10 more metrics not charted" in page
    assert "not a number at" in page  # the "n/a" values are named, not charted
    assert page.count("<th class='param'>") == MAX_PARAMS
    # 200 rows x 100 cells of 60 characters, each "<" escaped to 4: the worst case, ~5 MB
    assert len(page) < 8_000_000, len(page)


def test_an_empty_report_is_a_valid_page() -> None:
    page = render_report(big_report(snapshots=1, metrics=0, params=0))
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "No metrics recorded" in page and "Only one snapshot" in page


def test_the_environment_diff_is_a_table_of_escaped_rows() -> None:
    from mlv.model.report import EnvironmentView
    from mlv.render.report.tables import environment_section

    view = EnvironmentView(
        "xxh128:" + "a" * 32,
        "xxh128:" + "b" * 32,
        python=("CPython 3.11.7", "CPython 3.12.1"),
        added=["torch==2.3.0"],
        removed=["six==1.16.0"],
        changed=[("numpy", "1.26.0", "2.0.0")],
        variables=[EVIL],
    )
    html = environment_section(view)
    assert "<script" not in html and "<img" not in html
    assert "<tr><td>python</td><td>CPython 3.11.7</td><td>CPython 3.12.1</td></tr>" in html
    assert "<tr><td>package numpy</td><td>1.26.0</td><td>2.0.0</td></tr>" in html
    assert "<tr><td>package torch</td><td>-</td><td>2.3.0</td></tr>" in html
    assert "<tr><td>package six</td><td>1.16.0</td><td>-</td></tr>" in html
    assert "variable &lt;script&gt;" in html


def test_a_chart_the_engine_refuses_is_left_out_not_fatal() -> None:
    from mlv.render.report import charts

    assert charts._svg({"mark": "no such mark"}) is None
