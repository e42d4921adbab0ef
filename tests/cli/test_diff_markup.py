"""Names in the data are shown as they are: rich's markup in a column name, a path or a param
is text, not styling (and an unbalanced tag is no crash)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import MlvRunner, write


def test_markup_in_column_names_and_paths_is_printed_literally(
    project: Path, mlv: MlvRunner
) -> None:
    write(
        project / "data/[b]t.csv", "id,a[/b],[red]x\n" + "".join(f"{i},{i},1\n" for i in range(20))
    )
    assert mlv("track", "data").code == 0
    assert mlv("snapshot", "-m", "one").code == 0
    write(
        project / "data/[b]t.csv",
        "id,a[/b],[red]x\n" + "".join(f"{i},{i * 3},2\n" for i in range(30)),
    )
    assert mlv("snapshot", "-m", "two").code == 0
    result = mlv("diff", "HEAD~1", "HEAD", "--check")
    assert result.code in (0, 1), result.err
    assert "a[/b]" in result.out and "[red]x" in result.out
    assert "internal error" not in result.err
