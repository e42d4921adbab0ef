"""The lineage graph as SVG: a layered layout (inputs left of the stage that reads them, outputs
right of it), every label escaped, a cycle of a malformed manifest drawn rather than looped on."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from mlv.model.lineage import Lineage, LineageNode
from mlv.render.lineage_svg import lineage_svg
from tests.render.test_lineage import A, two_stages

NS = {"svg": "http://www.w3.org/2000/svg"}


def boxes(svg: str) -> dict[str, tuple[float, float]]:
    """The first line of each node -> the (x, y) of its box."""
    root = ET.fromstring(svg)
    found = {}
    for g in root.findall("svg:g", NS):
        rect, text = g.find("svg:rect", NS), g.find("svg:text", NS)
        assert rect is not None and text is not None and text.text
        found[text.text] = (float(rect.get("x", 0)), float(rect.get("y", 0)))
    return found


def test_layers_run_from_raw_data_to_the_model() -> None:
    svg, omitted = lineage_svg([two_stages()])
    assert omitted == 0
    pos = boxes(svg)
    assert set(pos) == {
        "data/raw.csv", "train.py", "stage prepare", "features", "stage train", "models/m.pkl"
    }  # fmt: skip
    x = {name: p[0] for name, p in pos.items()}
    assert x["data/raw.csv"] == x["train.py"] < x["stage prepare"] < x["features"]
    assert x["features"] < x["stage train"] < x["models/m.pkl"]
    assert len(re.findall(r'<path class="edge"', svg)) == 6  # 3 into train, 1 into prepare, 2 out


def test_labels_are_escaped_and_cut() -> None:
    evil = "<script>alert(1)</script>" + "x" * 100
    node = LineageNode(evil, A, "stage", stage="s&t", cmd="echo '<b>'", inputs=[])
    svg, _ = lineage_svg([Lineage(node, None, None)])
    assert "<script" not in svg and "<b>" not in svg
    ET.fromstring(svg)  # well-formed
    assert "&lt;script&gt;" in svg and "stage s&amp;t" in svg
    titles = re.findall(r"<title>(.*?)</title>", svg, re.S)
    assert any(evil.replace("<", "&lt;").replace(">", "&gt;") in t for t in titles)  # whole text


def test_a_cycle_is_drawn_not_looped_on() -> None:
    a = LineageNode("a", A, "stage", stage="make_a", cmd="x", inputs=[])
    b = LineageNode("b", A, "stage", stage="make_b", cmd="y", inputs=[a])
    a.inputs.append(b)  # a malformed manifest: a made from b made from a
    svg, _ = lineage_svg([Lineage(a, None, None)])
    assert set(boxes(svg)) == {"a", "b", "stage make_a", "stage make_b"}


def test_several_outputs_share_their_nodes() -> None:
    lineage = two_stages()
    features = lineage.root.inputs[0]
    svg, _ = lineage_svg([lineage, Lineage(features, None, None)])
    assert len(boxes(svg)) == 6
