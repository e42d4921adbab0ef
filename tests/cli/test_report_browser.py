"""`mlv report` opened in a real headless Chromium: it loads with no console error and no
network request, shows its charts and tables, flags the drifted column, runs no planted script.

A screenshot is written to build/report.png (MLV_REPORT_SCREENSHOT=PATH to choose; the one in
docs/images/report.png was made so)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import ARGS, CHROMIUM, ensure_chromium
from tests.cli.experiment_runs import SCRIPT, make_runs
from tests.conftest import MlvRunner

pytestmark = pytest.mark.slow
SCREENSHOT = Path(__file__).parents[2] / "build" / "report.png"


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    reason = ensure_chromium(tmp_path_factory.getbasetemp().parent)
    if reason is not None:
        pytest.skip(f"no Chromium for the browser tests: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def open_page(browser: Any, path: Path) -> tuple[Any, list[str], list[str]]:
    """The loaded page, the console errors and page errors, and every request it made."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, errors, requests


def test_the_report_in_a_real_browser(
    browser: Any, project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    make_runs(project, mlv, count=5)
    out = tmp_path / "report.html"
    result = mlv("report", "-o", str(out))
    assert result.code == 0, result.err
    page, errors, requests = open_page(browser, out)
    try:
        assert errors == []
        assert requests == [out.as_uri()]  # the file itself, nothing else
        # the planted <script> (a column, a commit message, a param value) did not run
        assert page.title() == "mlv report: repo"
        assert page.evaluate("document.querySelectorAll('script').length") == 0
        assert page.locator(f"text={SCRIPT}").count() >= 3  # shown as text instead
        # charts: one per metric, one per column, the lineage graph
        assert page.locator("figure.metric svg").count() == 2
        points = page.locator("figure.metric svg path > title")  # a tooltip per point
        assert points.count() == 2 * 5
        assert "message: run 4 <script>" in points.last.text_content()
        assert page.locator("figure.distribution svg").count() == 4
        assert page.locator("svg.lineage g.node").count() == 4
        assert page.locator("table#snapshots tr").count() == 1 + 5
        # the drifted column is flagged: its row and its chart
        flagged = page.locator("tr.drift-alert td").first.inner_text()
        assert flagged == "x"
        assert page.locator("figure.drift-alert").get_attribute("data-column") == "x"
        assert page.locator("tr.drift-ok").count() == 3
        # the environment section: the same record in both snapshots
        assert "No difference." in page.locator("h2#environment + p + p").inner_text()
        shot = Path(os.environ.get("MLV_REPORT_SCREENSHOT") or SCREENSHOT)
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        page.close()


def test_the_lineage_page_in_a_real_browser(
    browser: Any, project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    make_runs(project, mlv, count=1)
    result = mlv("lineage", "model.txt", "--format", "html")
    assert result.code == 0, result.err
    out = tmp_path / "lineage.html"
    out.write_text(result.out)
    page, errors, requests = open_page(browser, out)
    try:
        assert (errors, requests) == ([], [out.as_uri()])
        assert page.locator("svg.lineage g.stage").count() == 1
        # features.parquet -> stage train -> model.txt (metrics.json is not on this path)
        assert page.locator("svg.lineage g.artifact").count() == 2
        assert page.locator("svg.lineage path.edge").count() == 2
    finally:
        page.close()
