"""The reproduce verdict as people read it (``explain``) and as programs read it (docs/json.md)."""

from __future__ import annotations

import json

from mlv.model.ids import ObjectId
from mlv.model.reproduce import (
    DIFFERS,
    IDENTICAL,
    MISSING,
    WITHIN_TOLERANCE,
    ColumnDelta,
    DirComparison,
    FileTable,
    MetricDelta,
    OutputVerdict,
    ReproduceReport,
    StageVerdict,
    TableComparison,
)

A = ObjectId("xxh128", "a" * 32)
B = ObjectId("xxh128", "b" * 32)


def output(verdict: str, **kw: object) -> OutputVerdict:
    return OutputVerdict("train", "out.bin", verdict, A, B, **kw)


def test_explain_says_how_an_output_differs() -> None:
    assert output(IDENTICAL).explain() == "identical"
    assert output(MISSING).explain() == "not produced"
    assert output(DIFFERS, recorded_size=10, reproduced_size=12).explain() == (
        "size 10 -> 12 bytes"
    )
    assert output(DIFFERS, recorded_size=10, reproduced_size=10).explain() == (
        "same size (10 bytes), different content"
    )
    assert output(DIFFERS, recorded_size=10).explain() == DIFFERS  # a size unknown: no claim
    assert output(DIFFERS, reproduced_size=10).explain() == DIFFERS
    metrics = [
        MetricDelta("m.json:acc", 0.97, 0.95, -0.02, 0.05),
        MetricDelta("m.json:model", "svm", "tree", None, None),
        MetricDelta("m.json:n", 3, 3, 0.0, None),  # unchanged: not listed
    ]
    assert output(WITHIN_TOLERANCE, metrics=metrics).explain() == (
        "m.json:acc: 0.97 -> 0.95 (-0.02), tolerance 0.05; m.json:model: svm -> tree"
    )


def test_a_metric_is_within_tolerance_only_when_numeric_and_close_enough() -> None:
    assert MetricDelta("x", 1, 1, 0.0, None).within
    assert MetricDelta("x", 1.0, 1.05, 0.05, 0.05).within
    assert not MetricDelta("x", 1.0, 1.06, 0.06, 0.05).within
    assert not MetricDelta("x", 1.0, 1.01, 0.01, None).within
    assert not MetricDelta("x", "a", "b", None, 1.0).within


def report() -> ReproduceReport:
    prepare = StageVerdict("prepare", "python prep.py", True, exit_code=0, duration=0.25)
    prepare.outputs.append(OutputVerdict("prepare", "data.csv", IDENTICAL, A, A, 5, 5))
    train = StageVerdict(
        "train",
        "python train.py",
        True,
        exit_code=0,
        duration=1.23456,
        marked_stale=["out.bin"],
    )
    train.outputs.append(
        OutputVerdict(
            "train",
            "m.json",
            DIFFERS,
            A,
            B,
            20,
            21,
            [MetricDelta("m.json:acc", 0.97, 0.9, -0.07, 0.05)],
        )
    )
    later = StageVerdict("report", "python r.py", False, ["m.json changed"])
    return ReproduceReport("HEAD~1", "c0ffee", {"drifted": False}, [prepare, train, later])


def test_the_json_report_is_the_documented_shape() -> None:
    doc = json.loads(json.dumps(report().to_dict(), default=str))
    assert doc == {
        "rev": "HEAD~1",
        "commit": "c0ffee",
        "reproduced": False,
        "first_divergence": "train",
        "workdir": None,
        "environment": {"drifted": False},
        "environment_used": {},
        "stages": [
            {
                "name": "prepare",
                "cmd": "python prep.py",
                "inputs_matched": True,
                "input_differences": [],
                "marked_stale": [],
                "exit_code": 0,
                "duration": 0.25,
                "outputs": [
                    {
                        "path": "data.csv",
                        "verdict": "identical",
                        "recorded": str(A),
                        "reproduced": str(A),
                        "recorded_size": 5,
                        "reproduced_size": 5,
                        "detail": "identical",
                        "metrics": [],
                        "table": None,
                        "files": None,
                    }
                ],
            },
            {
                "name": "train",
                "cmd": "python train.py",
                "inputs_matched": True,
                "input_differences": [],
                "marked_stale": ["out.bin"],
                "exit_code": 0,
                "duration": 1.235,
                "outputs": [
                    {
                        "path": "m.json",
                        "verdict": "differs",
                        "recorded": str(A),
                        "reproduced": str(B),
                        "recorded_size": 20,
                        "reproduced_size": 21,
                        "detail": (
                            "size 20 -> 21 bytes; m.json:acc: 0.97 -> 0.9 (-0.07), tolerance 0.05"
                        ),
                        "metrics": [
                            {
                                "name": "m.json:acc",
                                "recorded": 0.97,
                                "reproduced": 0.9,
                                "delta": -0.07,
                                "tolerance": 0.05,
                            }
                        ],
                        "table": None,
                        "files": None,
                    }
                ],
            },
            {
                "name": "report",
                "cmd": "python r.py",
                "inputs_matched": False,
                "input_differences": ["m.json changed"],
                "marked_stale": [],
                "exit_code": None,
                "duration": 0.0,
                "outputs": [],
            },
        ],
    }


def test_nothing_run_is_not_reproduced() -> None:
    assert not ReproduceReport("HEAD", "c0ffee", {}).reproduced
    good = StageVerdict("s", "true", True, exit_code=0)
    assert ReproduceReport("HEAD", "c0ffee", {}, [good]).reproduced
    assert ReproduceReport("HEAD", "c0ffee", {}, [good]).first_divergence is None


def test_a_directory_is_within_only_when_every_differing_file_is_a_table_within() -> None:
    def table(max_abs: float, tolerance: float | None) -> TableComparison:
        return TableComparison([4, 4], columns=[ColumnDelta("x", 2, max_abs, tolerance)])

    within = FileTable("d/a.parquet", table(0.001, 0.01))
    outside = FileTable("d/b.csv", table(0.1, 0.01))
    assert DirComparison(tables=[within]).within
    assert not DirComparison(tables=[within, outside]).within
    assert not DirComparison(removed=["d/c.csv"], tables=[within]).within
    assert not DirComparison(added=["d/c.csv"], tables=[within]).within
    assert not DirComparison(changed=["d/run.sh"], tables=[within]).within
    # Nothing but a mode or an empty directory differs: not a table difference, not excused.
    empty = DirComparison()
    assert not empty.within
    assert empty.explain() == "same files; modes or empty directories differ"
    many = DirComparison(removed=[f"d/{i}.csv" for i in range(7)])
    assert many.explain() == "files removed: d/0.csv, d/1.csv, d/2.csv, d/3.csv, d/4.csv (+2 more)"
    assert many.to_dict()["removed"] == [f"d/{i}.csv" for i in range(7)]
