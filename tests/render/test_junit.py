import xml.etree.ElementTree as ET

from mlv.model.ids import ObjectId
from mlv.model.reproduce import (
    DIFFERS,
    IDENTICAL,
    MISSING,
    WITHIN_TOLERANCE,
    MetricDelta,
    OutputVerdict,
    ReproduceReport,
    StageVerdict,
)
from mlv.render.junit import junit_xml

A = ObjectId.xxh128("a" * 32)
B = ObjectId.xxh128("b" * 32)
C = ObjectId.xxh128("c" * 32)


def three_stages() -> ReproduceReport:
    """One stage reproduced (one output within tolerance), one differs after its inputs did,
    one failed."""
    return ReproduceReport(
        "HEAD",
        "abc123",
        {},
        stages=[
            StageVerdict(
                "prepare",
                "python prep.py",
                True,
                exit_code=0,
                duration=1.25,
                outputs=[
                    OutputVerdict("prepare", "features", IDENTICAL, B, B, 10, 10),
                    OutputVerdict(
                        "prepare",
                        "metrics.json",
                        WITHIN_TOLERANCE,
                        A,
                        B,
                        5,
                        5,
                        [MetricDelta("acc", 0.9, 0.901, 0.001, 0.01)],
                    ),
                ],
            ),
            StageVerdict(
                "train",
                "python train.py",
                False,
                ["features"],
                exit_code=0,
                duration=2.5,
                outputs=[OutputVerdict("train", "models/m.pkl", DIFFERS, C, A, 100, 120)],
            ),
            StageVerdict(
                "eval",
                "python eval.py",
                True,
                exit_code=2,
                duration=0.5,
                log='Traceback <boom> & "x"',
                outputs=[OutputVerdict("eval", "eval.json", MISSING, A, None)],
            ),
        ],
    )


EXPECTED = """\
<?xml version='1.0' encoding='utf-8'?>
<testsuite name="mlv reproduce HEAD" tests="4" failures="2" errors="0" time="4.250">
  <properties>
    <property name="commit" value="abc123" />
    <property name="first_divergence" value="eval" />
  </properties>
  <testcase classname="mlv.prepare" name="features" time="1.250" />
  <testcase classname="mlv.prepare" name="metrics.json" time="1.250">
    <system-out>same size (5 bytes), different content; acc: 0.9 -&gt; 0.901 (+0.001), \
tolerance 0.01</system-out>
  </testcase>
  <testcase classname="mlv.train" name="models/m.pkl" time="2.500">
    <failure type="differs" message="models/m.pkl differs: size 100 -&gt; 120 bytes \
(its inputs already differed)" />
  </testcase>
  <testcase classname="mlv.eval" name="eval.json" time="0.500">
    <failure type="stage failed" message="stage eval exited 2">Traceback &lt;boom&gt; &amp; \
"x"</failure>
  </testcase>
</testsuite>
"""


def test_one_case_per_output_and_a_failure_for_each_that_did_not_reproduce() -> None:
    data = junit_xml(three_stages())
    assert data.decode() == EXPECTED
    suite = ET.fromstring(data)  # well-formed, whatever the log held
    assert [c.get("name") for c in suite.iter("testcase")] == [
        "features",
        "metrics.json",
        "models/m.pkl",
        "eval.json",
    ]
