"""The report page from a made-up report: bounded in size whatever the project holds, and every
text escaped (hundreds of snapshots, many metrics and params, long hostile values)."""

from __future__ import annotations

import pytest

from mlv.core.history.report import MAX_SNAPSHOTS
from mlv.model.env_diff import Change, EnvironmentDiff, LockfileChange
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


def _change(name: str, old: str | None, new: str | None) -> Change:
    return Change(name, old, new)


def env_diff(**fields: object) -> EnvironmentDiff:
    empty: dict[str, object] = {
        "old_fingerprint": "xxh128:" + "a" * 32,
        "new_fingerprint": "xxh128:" + "b" * 32,
        "python": None,
        "platform": None,
        "release": None,
    }
    kinds = ("added", "removed", "upgraded", "downgraded", "changed", "sources", "lockfiles")
    empty.update(dict.fromkeys((*kinds, "variables", "conda", "cuda"), ()))
    return EnvironmentDiff(**{**empty, **fields})  # type: ignore[arg-type]


def rows_of(html: str) -> list[tuple[str, ...]]:
    """The rows of the environment table: data-kind, then each cell's text."""
    import re

    return [
        (kind, *re.findall(r"<td>(.*?)</td>", cells))
        for kind, cells in re.findall(r"<tr data-kind='(\w+)'>(.*?)</tr>", html)
    ]


def test_the_environment_diff_is_a_table_of_escaped_rows() -> None:
    from mlv.model.report import EnvironmentView
    from mlv.render.report.environment import environment_section

    d = env_diff(
        python=_change("python", "CPython 3.11.7", "CPython 3.12.1"),
        upgraded=(_change("numpy", "1.26.0", "2.0.0"),),
        downgraded=(_change("pandas", "2.1.0", "2.0.0"),),
        added=(_change("torch", None, "2.3.0"),),
        removed=(_change("six", "1.16.0", None),),
        sources=(_change("tinypkg", None, "git https://x/y.git@abc"),),
        lockfiles=(
            LockfileChange("requirements.txt", "modified", (_change("numpy", "==1.26", "==2.0"),)),
            LockfileChange("uv.lock", "added"),
        ),
        variables=(_change(EVIL, "1", EVIL),),
        conda=(_change("name", "base", "ml"),),
        cuda=(_change("torch", "2.2+cu118", "2.3+cu121"),),
    )
    html = environment_section(EnvironmentView(d.old_fingerprint, d.new_fingerprint, d))
    assert "<script" not in html and "<img" not in html
    rows = rows_of(html)
    assert ("python", "python", "", "CPython 3.11.7", "CPython 3.12.1") in rows
    assert ("upgraded", "package upgraded", "numpy", "1.26.0", "2.0.0") in rows
    assert ("downgraded", "package downgraded", "pandas", "2.1.0", "2.0.0") in rows
    assert ("added", "package added", "torch", "", "2.3.0") in rows
    assert ("removed", "package removed", "six", "1.16.0", "") in rows
    assert ("source", "package source", "tinypkg", "index", "git https://x/y.git@abc") in rows
    assert ("lockfile", "lockfile modified", "requirements.txt", "", "") in rows
    assert ("pin", "pin in requirements.txt", "numpy", "==1.26", "==2.0") in rows
    assert ("lockfile", "lockfile added", "uv.lock", "", "") in rows
    assert ("conda", "conda", "name", "base", "ml") in rows
    assert ("cuda", "gpu", "torch", "2.2+cu118", "2.3+cu121") in rows
    [variable] = [r for r in rows if r[0] == "variable"]
    assert variable[2].startswith("&lt;script&gt;") and len(variable[3]) < 120  # cut to 60


def test_the_environment_section_is_bounded_and_says_what_it_left_out() -> None:
    from mlv.model.report import EnvironmentView
    from mlv.render.report.environment import MAX_ROWS, environment_section

    many = tuple(_change(f"p{i:05}", None, "1.0") for i in range(MAX_ROWS + 7))
    html = environment_section(EnvironmentView("a", "b", env_diff(added=many)))
    assert html.count("<tr data-kind='added'>") == MAX_ROWS
    assert "7 more environment changes not listed" in html
    same = environment_section(EnvironmentView("a", "a", env_diff()))
    assert "No difference." in same and "environment-diff" not in same
    html = environment_section(EnvironmentView(None, "b", None, "no environment recorded in x"))
    assert "no environment recorded in x" in html and "environment-diff" not in html


def test_a_chart_the_engine_refuses_is_left_out_not_fatal() -> None:
    from mlv.render.report import charts

    assert charts._svg({"mark": "no such mark"}) is None
