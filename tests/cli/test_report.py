"""`mlv report` on generated runs: what the page holds, and that the project's text is escaped.

The page is parsed here; tests/cli/test_report_browser.py opens it in a real Chromium."""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.cli.experiment_runs import SCRIPT, make_runs
from tests.conftest import MlvRunner, git, write


class Page(HTMLParser):
    """Tags with their attributes, and the text of the page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [
            a
            for t, a in self.tags
            if t == tag
            and all(
                v in a.get(k.rstrip("_").replace("_", "-"), "").split() for k, v in attrs.items()
            )
        ]


def report(mlv: MlvRunner, project: Path, *args: str, code: int = 0) -> str:
    result = mlv("report", "-o", str(project / "out.html"), *args)
    assert result.code == code, result.err
    return (project / "out.html").read_text() if code == 0 else result.err


@pytest.fixture
def runs(project: Path, mlv: MlvRunner) -> list[str]:
    return make_runs(project, mlv, count=4)


@pytest.mark.slow
def test_the_report_shows_metrics_params_drift_lineage_and_environment(
    runs: list[str], project: Path, mlv: MlvRunner
) -> None:
    html = report(mlv, project)
    page = Page(html)
    metric_charts = page.find("figure", class_="metric")
    assert [f["data-name"] for f in metric_charts] == ["metrics.json:acc", "metrics.json:loss"]
    assert html.count("<svg") >= 2 + 4 + 1  # metrics, column distributions, lineage
    assert "snapshot (oldest to newest)" in html
    # each point names its commit and message (Vega writes them as the point's label)
    head = git(project, "rev-parse", "--short=7", "HEAD")
    assert f"commit: {head}; message: run 3 &lt;script&gt;" in html
    assert html.count("<title>snapshot (oldest to newest): ") == 2 * 4  # hover tooltips
    # params: one row per snapshot, the changed ones marked
    assert len(page.find("tr")) >= 5
    assert len(page.find("td", class_="changed")) >= 3 * 3  # lr, acc, loss changed each time
    # the drifted column is flagged, the others are not
    rows = {a.get("data-drift") for a in page.find("tr", class_="column")}
    assert rows == {"alert", "ok"}
    [flagged] = page.find("tr", class_="drift-alert")
    assert flagged is not None
    text = "".join(page.text)
    assert "x" in text and "alert" in text
    [chart] = page.find("figure", class_="drift-alert")
    assert chart["data-column"] == "x"
    assert len(page.find("figure", class_="distribution")) == 4
    # lineage: the stage between its input and outputs, drawn
    assert len(page.find("g", class_="stage")) == 1
    assert len(page.find("g", class_="artifact")) == 3
    assert "features.parquet" in text and "model.txt" in text
    assert len(page.find("table", id="environment-diff")) == 0 and "No difference." in text


@pytest.mark.slow
def test_nothing_from_the_project_reaches_the_page_unescaped(
    runs: list[str], project: Path, mlv: MlvRunner
) -> None:
    html = report(mlv, project)
    # the page itself has no script at all: any <script here would be injected
    assert "<script" not in html.lower()
    assert "&lt;script&gt;document.title=" in html
    assert SCRIPT in "".join(Page(html).text)  # shown, as text
    page = Page(html)
    assert not page.find("script")
    [policy] = page.find("meta", http_equiv="Content-Security-Policy")
    assert "default-src 'none'" in policy["content"]
    assert "http://" not in html.replace("http://www.w3.org/", "")  # no link out: SVG's xmlns only
    assert "https://" not in html


@pytest.mark.slow
def test_compare_two_chosen_snapshots_and_a_subset(
    runs: list[str], project: Path, mlv: MlvRunner
) -> None:
    html = report(mlv, project, "--compare", "HEAD~3", "HEAD~2")
    page = Page(html)
    assert "No table changed" not in html
    assert {a.get("data-drift") for a in page.find("tr", class_="column")} == {"ok"}
    old = git(project, "rev-parse", "HEAD~3")[:10]
    assert f"<code>{old}</code> (HEAD~3) →" in html
    html = report(mlv, project, "HEAD~1", "HEAD", "HEAD~1")
    page = Page(html)
    assert "2 snapshots" in html
    assert len(page.find("tr", class_="drift-alert")) == 1  # HEAD~1 -> HEAD: x drifted


def test_bad_input_is_exit_2_and_leaves_no_file(project: Path, mlv: MlvRunner) -> None:
    assert "no snapshots to report on" in report(mlv, project, code=2)
    write(project / "a.txt", "a\n")
    assert mlv("track", "a.txt").code == 0
    assert mlv("snapshot", "-m", "one").code == 0
    assert "unknown revision" in report(mlv, project, "nope", code=2).lower()
    assert "has no mlv.lock" in report(mlv, project, "HEAD~1", code=2)
    assert "has no mlv.lock" in report(mlv, project, "--compare", "HEAD~1", "HEAD", code=2)
    assert mlv("report", "-n", "0").code == 2
    result = mlv("report", "-o", str(project / "missing" / "r.html"))
    assert result.code == 2 and "not a directory" in result.err
    assert not (project / "out.html").exists()


def test_a_single_snapshot_without_stages_or_tables(project: Path, mlv: MlvRunner) -> None:
    write(project / "a.txt", "a\n")
    assert mlv("track", "a.txt").code == 0
    assert mlv("snapshot", "-m", "one").code == 0
    html = report(mlv, project)
    assert "only one snapshot" in html
    assert "No metrics recorded" in html and "No stage outputs" in html


def test_metrics_that_are_not_numbers_and_snapshots_without_summaries(
    project: Path, mlv: MlvRunner
) -> None:
    toml = project / "mlv.toml"
    toml.write_text(toml.read_text() + "\n[tables]\nsummaries = false\n")
    code = (
        "import json; v = open('v.txt').read().strip();"
        " json.dump({'acc': float(v) if v[0].isdigit() else v}, open('m.json', 'w'))"
    )
    added = mlv(
        "stage", "add", "s", "-d", "v.txt", "-M", "m.json", "--", sys.executable, "-c", code
    )
    assert added.code == 0, added.err
    write(project / "t.csv", "a,b\n1,2\n")
    assert mlv("track", "t.csv").code == 0
    for i, value in enumerate(["0.5", "n/a", "0.7"]):
        write(project / "v.txt", value)
        write(project / "t.csv", f"a,b\n1,{i}\n")
        assert mlv("run").code == 0
        assert mlv("snapshot", "-m", f"v{i}").code == 0
    html = report(mlv, project)
    bad = git(project, "rev-parse", "--short=7", "HEAD~1")
    assert f"m.json:acc: not a number at {bad}" in html
    assert len(Page(html).find("figure", class_="metric")) == 1  # the two numbers are charted
    assert "t.csv" in html  # the table is listed (summarised from the store, or noted)


def test_open_hands_the_file_to_the_browser(
    project: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    import webbrowser

    opened = project.parent / "opened.txt"
    monkeypatch.setenv("BROWSER", f"sh -c 'echo $0 > {opened}' %s")
    monkeypatch.setattr(webbrowser, "_tryorder", None)  # read BROWSER again
    write(project / "a.txt", "a\n")
    assert mlv("track", "a.txt").code == 0
    assert mlv("snapshot", "-m", "one").code == 0
    assert mlv("report", "--open").code == 0
    assert opened.read_text().strip() == (project / "report.html").as_uri()


@pytest.fixture
def one_snapshot(project: Path, mlv: MlvRunner) -> Path:
    write(project / "a.txt", "a\n")
    assert mlv("track", "a.txt").code == 0
    assert mlv("snapshot", "-m", "one").code == 0
    return project


def test_an_output_that_cannot_be_written_is_exit_2_with_nothing_left(
    one_snapshot: Path, mlv: MlvRunner
) -> None:
    before = sorted(p.name for p in one_snapshot.iterdir())
    for output in ["", "/proc/r.html", "/proc/version", str(one_snapshot / "a.txt" / "r.html")]:
        result = mlv("report", "-o", output)
        assert result.code == 2, (output, result.err)
        assert "cannot write the report" in result.err and "hint" in result.err.lower(), output
    assert sorted(p.name for p in one_snapshot.iterdir()) == before
    assert not list(Path("/proc").glob("*r.html*"))


def test_dash_writes_the_page_to_stdout(one_snapshot: Path, mlv: MlvRunner) -> None:
    result = mlv("report", "-o", "-", "--open")
    assert result.code == 0, result.err
    assert result.out.startswith("<!DOCTYPE html>") and result.out.rstrip().endswith("</html>")
    assert "no file to open" in result.err
    assert not (one_snapshot / "-").exists() and not (one_snapshot / "report.html").exists()


def test_open_without_a_browser_says_so(
    one_snapshot: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    import webbrowser

    for name in ("DISPLAY", "WAYLAND_DISPLAY", "TERM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BROWSER", "false")  # a browser command that fails
    monkeypatch.setattr(webbrowser, "_tryorder", None)  # read the environment again
    result = mlv("report", "--open")
    assert result.code == 0, result.err
    assert "warning" in result.err and "no web browser" in result.err
    assert (one_snapshot / "report.html").is_file()
