"""`mlv report` on a table of thousands of columns and more snapshots than it shows: the page
lists the worst columns first, draws a bounded number of charts and says what it left out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlv.core.history import report as gather
from tests.conftest import MlvRunner, write

COLUMNS = 2000


def wide(seed: int, shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {f"c{j:04d}": rng.normal(0.0, 1.0, 400) for j in range(COLUMNS)}
    data["c1234"] = rng.normal(shift, 1.0, 400)
    return pd.DataFrame(data)


@pytest.mark.slow
def test_thousands_of_columns(project: Path, mlv: MlvRunner) -> None:
    wide(1, 0.0).to_parquet(project / "wide.parquet", index=False)
    assert mlv("track", "wide.parquet").code == 0
    assert mlv("snapshot", "-m", "v1").code == 0
    wide(2, 3.0).to_parquet(project / "wide.parquet", index=False)
    assert mlv("snapshot", "-m", "v2").code == 0
    result = mlv("report", "-o", str(project / "r.html"))
    assert result.code == 0, result.err
    html = (project / "r.html").read_text()
    assert html.count("<tr class='column") == gather.MAX_COLUMNS
    assert f"{COLUMNS - gather.MAX_COLUMNS} more columns not listed" in html
    first = html.index("<tr class='column")
    assert html[first:].startswith("<tr class='column drift-alert'")
    assert "<td>c1234</td>" in html[first : first + 200]  # the drifted column comes first
    assert html.count("<figure class='chart distribution") == gather.MAX_CHARTS
    assert "more column distributions not drawn" in html
    assert len(html) < 3_000_000


def test_more_snapshots_than_shown(
    project: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gather, "MAX_SNAPSHOTS", 3)
    for i in range(5):
        write(project / "a.txt", f"{i}\n")
        assert mlv("track", "a.txt").code == 0
        assert mlv("snapshot", "-m", f"v{i}").code == 0
    result = mlv("report", "-o", str(project / "r.html"), "-n", "100")
    assert result.code == 0, result.err
    html = (project / "r.html").read_text()
    assert "2 older snapshots not shown" in html and "3 snapshots" in html
    assert "v4" in html and "v1" not in html
