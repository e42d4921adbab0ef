"""`mlv diff` across real revisions of generated tables in a real git repository."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlv.model.ids import ObjectId
from mlv.storage.store import ObjectStore
from tests.conftest import MlvRunner, git, write

N = 20_000  # rows: a resample's PSI stays < 0.01, a one-sigma shift's is > 0.5


def features(seed: int, n: int = N, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "x": rng.normal(shift, 1.0, n),
            "k": rng.integers(0, 5, n),
            "city": rng.choice(["oslo", "rome", "lima"], n, p=[0.5, 0.3, 0.2]),
        }
    )


def snapshot(mlv: MlvRunner, message: str) -> None:
    result = mlv("snapshot", "-m", message)
    assert result.code == 0, result.err


def diff_json(mlv: MlvRunner, *args: str, code: int = 0) -> dict[str, Any]:
    result = mlv("diff", "--json", *args)
    assert result.code == code, result.err
    doc: dict[str, Any] = json.loads(result.out)
    return doc


def columns(table: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in table["columns"]}


@pytest.fixture
def versions(project: Path, mlv: MlvRunner) -> Path:
    """v1; v2 a resample of the same distributions; v3 with x shifted by one sigma."""
    features(1).to_parquet(project / "features.parquet", index=False)
    assert mlv("track", "features.parquet", "--kind", "features").code == 0
    snapshot(mlv, "v1")
    features(2).to_parquet(project / "features.parquet", index=False)
    snapshot(mlv, "v2")
    features(3, shift=1.0).to_parquet(project / "features.parquet", index=False)
    snapshot(mlv, "v3")
    return project


def test_a_shifted_distribution_is_flagged_and_a_resample_is_not(
    versions: Path, mlv: MlvRunner
) -> None:
    resample = diff_json(mlv, "HEAD~2", "HEAD~1")
    [table] = resample["tables"]
    assert table["path"] == "features.parquet" and table["change"] == "modified"
    for column in ("x", "k", "city"):
        assert columns(table)[column]["drift"] == "ok"
        assert columns(table)[column]["psi"] < 0.02
    assert columns(table)["x"]["ks"] < 0.03  # both versions are local

    shifted = diff_json(mlv, "HEAD~1", "HEAD")
    [table] = shifted["tables"]
    x = columns(table)["x"]
    assert x["drift"] == "alert" and x["psi"] > 0.5 and x["ks"] > 0.3
    assert columns(table)["city"]["drift"] == "ok"
    assert table["drift"] == "alert" and not table["schema_changed"]
    # --check: the resample passes, the shift fails; the human output says why.
    assert mlv("diff", "HEAD~2", "HEAD~1", "--check").code == 0
    failed = mlv("diff", "HEAD~1", "HEAD", "--check")
    assert failed.code == 1
    assert "drift alert in x" in failed.out and "alert" in failed.out


def test_thresholds_come_from_mlv_toml(versions: Path, mlv: MlvRunner) -> None:
    with open(versions / "mlv.toml", "a") as handle:
        handle.write("\n[tables]\npsi_warn = 5.0\npsi_alert = 10.0\n")
    table = diff_json(mlv, "HEAD~1", "HEAD")["tables"][0]
    assert columns(table)["x"]["drift"] == "ok"
    assert mlv("diff", "HEAD~1", "HEAD", "--check").code == 0


def test_schema_rows_and_nulls_in_csv(project: Path, mlv: MlvRunner) -> None:
    df = features(1, n=1000)
    df.to_csv(project / "t.csv", index=False)
    assert mlv("track", "t.csv").code == 0
    snapshot(mlv, "v1")
    grown = pd.concat([df, features(2, n=100)], ignore_index=True)
    grown["k"] = grown["k"].astype(float) + 0.5  # int64 -> double
    grown["new"] = 1
    grown.loc[::10, "city"] = None
    grown.to_csv(project / "t.csv", index=False)
    doc = diff_json(mlv)  # HEAD against the work tree
    assert (doc["old"], doc["new"]) == ("HEAD", "workspace")
    [table] = doc["tables"]
    assert (table["old_rows"], table["new_rows"]) == (1000, 1100)
    cols = columns(table)
    assert cols["new"]["change"] == "added"
    assert cols["k"]["change"] == "retyped"
    assert (cols["k"]["old_type"], cols["k"]["new_type"]) == ("int64", "double")
    assert cols["city"]["stats"]["nulls"] == [0, 110]
    assert table["schema_changed"]
    failed = mlv("diff", "--check")
    assert failed.code == 1 and "schema changed (k retyped, new added)" in failed.out
    assert "drift alert in k" in failed.out  # every value of k moved by 0.5
    # Nothing fails the check when mlv.toml says so.
    with open(project / "mlv.toml", "a") as handle:
        handle.write("\n[tables]\ncheck = []\n")
    assert mlv("diff", "--check").code == 0
    [artifact] = diff_json(mlv)["artifacts"]
    assert artifact["change"] == "modified" and artifact["new_size"] > artifact["old_size"]


def test_rows_changed_by_key(project: Path, mlv: MlvRunner) -> None:
    df = features(1, n=5000)
    df.to_parquet(project / "t.parquet", index=False)
    df.to_csv(project / "t.csv", index=False)
    assert mlv("track", "t.parquet", "t.csv").code == 0
    snapshot(mlv, "v1")
    changed = df[df["id"] != 7].copy()  # one removed
    changed.loc[changed["id"].isin([3, 30, 300]), "city"] = "paris"
    changed.loc[changed["id"] == 30, "x"] = 99.0
    extra = features(9, n=2).assign(id=[9000, 9001])
    changed = pd.concat([changed, extra], ignore_index=True)
    changed.to_parquet(project / "t.parquet", index=False)
    changed.to_csv(project / "t.csv", index=False)
    snapshot(mlv, "v2")
    doc = diff_json(mlv, "HEAD~1", "HEAD", "--key", "id")
    for table in doc["tables"]:
        rows = table["rows"]
        assert (rows["added"], rows["removed"], rows["changed"]) == (2, 1, 3), table["path"]
        assert rows["changed_columns"] == {"city": 3, "x": 1}
        assert rows["unchanged"] == 5000 - 1 - 3 and rows["duplicate_keys"] == [0, 0]
        sample = {(s["change"], s["key"]["id"]) for s in rows["sample"]}
        assert {("added", "9000"), ("removed", "7"), ("changed", "30")} <= sample
    human = mlv("diff", "HEAD~1", "HEAD", "--key", "id")
    assert "+2 added, -1 removed, ~3 changed" in human.out
    bad = mlv("diff", "HEAD~1", "HEAD", "--key", "nope")
    assert bad.code == 2 and "--key nope" in bad.err


def test_table_inside_a_directory_and_file_listing(project: Path, mlv: MlvRunner) -> None:
    write(project / "data/readme.txt", "about\n")
    features(1, n=500).to_parquet(project / "data/part-1.parquet", index=False)
    write(project / "data/broken.parquet", b"PAR1 this is not parquet PAR1")
    assert mlv("track", "data").code == 0
    snapshot(mlv, "v1")
    features(2, n=600).to_parquet(project / "data/part-1.parquet", index=False)
    features(3, n=50).to_parquet(project / "data/part-2.parquet", index=False)
    (project / "data/readme.txt").unlink()
    write(project / "data/broken.parquet", b"PAR1 still not parquet PAR1")
    snapshot(mlv, "v2")
    doc = diff_json(mlv, "HEAD~1", "HEAD", "--files")
    [artifact] = doc["artifacts"]
    assert artifact["files"]["added"] == 1 and artifact["files"]["removed"] == 1
    assert artifact["files"]["paths"]["modified"] == ["broken.parquet", "part-1.parquet"]
    tables = {t["path"]: t for t in doc["tables"]}
    assert tables["data/part-1.parquet"]["new_rows"] == 600
    assert tables["data/part-2.parquet"]["change"] == "added"
    broken = tables["data/broken.parquet"]
    assert broken["opaque"][0] and broken["opaque"][1] and broken["columns"] == []
    human = mlv("diff", "HEAD~1", "HEAD", "--files", "--", "data")
    assert human.code == 0 and "+ data/part-2.parquet" in human.out
    assert "- data/readme.txt" in human.out and "opaque" in human.out


def test_unknown_revision_and_untracked_path_are_exit_2(project: Path, mlv: MlvRunner) -> None:
    write(project / "t.csv", "a\n1\n")
    assert mlv("track", "t.csv").code == 0
    snapshot(mlv, "v1")
    unknown = mlv("diff", "nosuchrev")
    assert unknown.code == 2 and "unknown revision" in unknown.err and "hint:" in unknown.err
    untracked = mlv("diff", "HEAD", "--", "README.md")
    assert untracked.code == 2 and "not tracked" in untracked.err and "hint:" in untracked.err
    assert mlv("diff", "a", "b", "c").code == 2
    nothing = mlv("diff")
    assert nothing.code == 0 and "no changes" in nothing.out


def test_params_and_metrics(project: Path, mlv: MlvRunner) -> None:
    write(project / "params.yaml", "lr: 0.1\ndepth: 3\n")
    code = (
        "import json, yaml; p = yaml.safe_load(open('params.yaml'));"
        " json.dump({'acc': 0.5 + p['lr']}, open('metrics.json', 'w'))"
    )
    added = mlv(
        "stage", "add", "train", "-p", "params.yaml", "-M", "metrics.json",
        "--", sys.executable, "-c", code,
    )  # fmt: skip
    assert added.code == 0, added.err
    assert mlv("run").code == 0
    snapshot(mlv, "v1")
    write(project / "params.yaml", "lr: 0.3\ndepth: 3\n")
    assert mlv("run").code == 0
    snapshot(mlv, "v2")
    doc = diff_json(mlv, "HEAD~1", "HEAD")
    [param] = doc["params"]
    assert (param["stage"], param["name"], param["old"], param["new"]) == (
        "train",
        "params.yaml:lr",
        0.1,
        0.3,
    )
    [metric] = doc["metrics"]
    assert metric["name"] == "metrics.json:acc"
    assert metric["delta"] == pytest.approx(0.2) and metric["relative"] == pytest.approx(1 / 3)


def test_diff_in_a_fresh_clone_without_the_data(
    versions: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = tmp_path / "remote"
    assert mlv("remote", "add", "origin", str(remote), "--default").code == 0
    git(versions, "add", "mlv.toml")
    git(versions, "commit", "-q", "-m", "remote")
    assert mlv("push", "HEAD~2", "HEAD~1").code == 0  # v2 and v3
    git(versions.parent, "clone", "-q", str(versions), str(tmp_path / "fresh"))
    monkeypatch.chdir(tmp_path / "fresh")
    doc = diff_json(mlv, "HEAD~2", "HEAD~1")
    x = columns(doc["tables"][0])["x"]
    assert x["drift"] == "alert" and x["ks"] is None  # no data here: PSI only
    store = ObjectStore(tmp_path / "fresh/.mlv/cache")
    lock = json.loads(git(tmp_path / "fresh", "show", "HEAD~1:mlv.lock"))
    assert not store.exists(ObjectId.parse(lock["artifacts"]["features.parquet"]["id"]))
    key = mlv("diff", "HEAD~2", "HEAD~1", "--key", "id", "--json")
    assert key.code == 0 and "both versions locally" in json.loads(key.out)["tables"][0]["note"]


def test_a_real_dataset(project: Path, mlv: MlvRunner) -> None:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame  # bundled with scikit-learn: works offline
    frame.to_parquet(project / "diabetes.parquet", index=False)
    assert mlv("track", "diabetes.parquet").code == 0
    snapshot(mlv, "v1")
    # A later extract: only the patients with a high BMI, and a unit change in one column.
    later = frame[frame["bmi"] > frame["bmi"].median()].copy()
    later["target"] = later["target"] * 10
    later.to_parquet(project / "diabetes.parquet", index=False)
    snapshot(mlv, "v2")
    table = diff_json(mlv, "HEAD~1", "HEAD")["tables"][0]
    cols = columns(table)
    assert (table["old_rows"], table["new_rows"]) == (442, len(later))
    assert cols["bmi"]["drift"] == "alert" and cols["target"]["drift"] == "alert"
    assert cols["sex"]["drift"] == "ok"  # two values, about as before


def test_a_revision_without_summaries_is_summarised_from_the_store(
    project: Path, mlv: MlvRunner
) -> None:
    """A snapshot taken with summaries off (or by an mlv without them) still diffs as a table
    while its data is in the store."""
    with open(project / "mlv.toml", "a") as handle:
        handle.write("\n[tables]\nsummaries = false\n")
    features(1, n=2000).to_parquet(project / "t.parquet", index=False)
    assert mlv("track", "t.parquet").code == 0
    snapshot(mlv, "v1")
    assert "tables" not in json.loads((project / "mlv.lock").read_text())
    text = (project / "mlv.toml").read_text().replace("summaries = false", "summaries = true")
    (project / "mlv.toml").write_text(text)
    features(2, n=2000, shift=1.0).to_parquet(project / "t.parquet", index=False)
    table = diff_json(mlv)["tables"][0]
    assert table["summaries"] and table["old_rows"] == 2000
    assert columns(table)["x"]["drift"] == "alert"


@pytest.mark.parametrize("suffix", [".tsv", ".jsonl", ".feather"])
def test_other_formats_diff_and_join_by_key(project: Path, mlv: MlvRunner, suffix: str) -> None:
    def save(df: pd.DataFrame) -> None:
        path = project / f"t{suffix}"
        if suffix == ".tsv":
            df.to_csv(path, index=False, sep="\t")
        elif suffix == ".jsonl":
            df.to_json(path, orient="records", lines=True)
        else:
            df.to_feather(path)

    df = features(1, n=300)
    save(df)
    assert mlv("track", f"t{suffix}").code == 0
    snapshot(mlv, "v1")
    changed = df.copy()
    changed.loc[changed["id"] == 5, "city"] = "paris"
    save(changed)
    table = diff_json(mlv, "HEAD", "--key", "id")["tables"][0]
    assert table["new_rows"] == 300 and columns(table)["city"]["stats"]["distinct"] == [3, 4]
    assert table["rows"]["changed"] == 1 and table["rows"]["changed_columns"] == {"city": 1}


def test_key_diff_of_an_arrow_stream_is_a_note_not_a_crash(project: Path, mlv: MlvRunner) -> None:
    """An Arrow IPC *stream* (not the file format) is summarised fine but cannot be joined by
    the row engine: the diff says so and goes on."""
    import pyarrow as pa

    def save(df: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(df, preserve_index=False)
        with (
            pa.OSFile(str(project / "s.arrow"), "wb") as sink,
            pa.ipc.new_stream(sink, table.schema) as writer,
        ):
            writer.write_table(table)

    df = features(1, n=200)
    save(df)
    assert mlv("track", "s.arrow").code == 0
    snapshot(mlv, "v1")
    df.loc[df["id"] == 5, "city"] = "paris"
    save(df)
    table = diff_json(mlv, "HEAD", "--key", "id")["tables"][0]
    assert table["rows"] is None and table["note"].startswith("row diff failed")
    assert table["new_rows"] == 200  # the summary side still works


def test_repeated_column_names_are_compared_with_their_namesakes(
    project: Path, mlv: MlvRunner
) -> None:
    """CSV allows `a,a,b`: the second `a` is compared with the second `a`, so changing only it
    flags only it, and the first, unchanged, is not drift."""
    rows = range(400)
    write(project / "d.csv", "a,a,b\n" + "".join(f"{i % 7},{i % 5},x\n" for i in rows))
    assert mlv("track", "d.csv").code == 0
    snapshot(mlv, "v1")
    write(project / "d.csv", "a,a,b\n" + "".join(f"{i % 7},{i % 5 + 100},x\n" for i in rows))
    table = diff_json(mlv, "HEAD", "--check", code=1)["tables"][0]
    found = columns(table)
    assert found["a"]["change"] == "unchanged" and found["a"]["drift"] == "ok"
    assert found["a (2)"]["drift"] == "alert"
    assert table.get("note") in (None, "")  # KS skips the repeated names, not the whole table
