from mlv.model.ids import ObjectId
from mlv.model.lineage import Lineage, LineageNode
from mlv.render.lineage import dot, mermaid, tree_label

A = ObjectId.xxh128("a" * 32)
B = ObjectId.xxh128("b" * 32)
C = ObjectId.xxh128("c" * 32)


def two_stages() -> Lineage:
    """raw -> prepare -> features -> train -> model, raw and code also feeding train."""
    raw = LineageNode("data/raw.csv", A, "tracked")
    code = LineageNode("train.py", None, "code")
    features = LineageNode(
        "features", B, "stage", stage="prepare", cmd='python prep.py --sep "\\t"', inputs=[raw]
    )
    model = LineageNode(
        "models/m.pkl",
        C,
        "stage",
        stage="train",
        cmd="python train.py",
        params={"seed": 1, "C": 0.5},
        inputs=[features, code, raw],
    )
    return Lineage(model, "abc123", "HEAD")


def test_mermaid_lists_each_path_and_stage_once() -> None:
    assert mermaid(two_stages()) == (
        "graph LR\n"
        '    n0["data/raw.csv<br/>aaaaaaaaaa"]\n'
        '    n1["features<br/>bbbbbbbbbb"]\n'
        '    n2["models/m.pkl<br/>cccccccccc"]\n'
        '    n3["train.py<br/>?"]\n'
        '    n4(["prepare: python prep.py --sep #34;\\t#34;"])\n'
        '    n5(["train: python train.py"])\n'
        "    n0 --> n4\n"
        "    n0 --> n5\n"
        "    n1 --> n5\n"
        "    n3 --> n5\n"
        "    n4 --> n1\n"
        "    n5 --> n2\n"
    )


def test_dot_escapes_quotes_and_backslashes() -> None:
    assert dot(two_stages()) == (
        "digraph lineage {\n"
        "    rankdir=LR;\n"
        '    n0 [shape=box, label="data/raw.csv\\naaaaaaaaaa"];\n'
        '    n1 [shape=box, label="features\\nbbbbbbbbbb"];\n'
        '    n2 [shape=box, label="models/m.pkl\\ncccccccccc"];\n'
        '    n3 [shape=box, label="train.py\\n?"];\n'
        '    n4 [shape=ellipse, label="prepare: python prep.py --sep \\"\\\\t\\""];\n'
        '    n5 [shape=ellipse, label="train: python train.py"];\n'
        "    n0 -> n4;\n"
        "    n0 -> n5;\n"
        "    n1 -> n5;\n"
        "    n3 -> n5;\n"
        "    n4 -> n1;\n"
        "    n5 -> n2;\n"
        "}\n"
    )


def test_tree_labels_say_where_each_path_came_from() -> None:
    root = two_stages().root
    assert tree_label(root) == (
        "models/m.pkl (cccccccccc) <- stage train: python train.py [C=0.5, seed=1]"
    )
    assert tree_label(root.inputs[0]) == (
        'features (bbbbbbbbbb) <- stage prepare: python prep.py --sep "\\t"'
    )
    assert tree_label(root.inputs[1]) == "train.py (?) [code]"
    assert tree_label(root.inputs[2]) == "data/raw.csv (aaaaaaaaaa) [tracked]"


def test_names_with_html_and_quotes_are_escaped_for_each_format() -> None:
    evil = '<img src=x onerror=alert(1)> "q" #1 & `b`'
    root = LineageNode(f"out/{evil}", A, "stage", stage="s", cmd=f"echo {evil}\nnext", inputs=[])
    text = mermaid(Lineage(root, "abc123", "HEAD"))
    labels = [line.split('"')[1:-1] for line in text.splitlines() if '"' in line]
    assert all(len(parts) == 1 for parts in labels)  # no quote inside a label
    assert not any(c in parts[0].replace("<br/>", "") for parts in labels for c in "<>&`")
    assert "#60;img src=x onerror=alert(1)#62; #34;q#34; #35;1 #38; #96;b#96;" in text
    assert '\n    n1(["s: echo ' in text and 'next"])' in text  # one line per node
    graph = dot(Lineage(root, "abc123", "HEAD"))
    assert 'label="out/<img src=x onerror=alert(1)> \\"q\\" #1 & `b`\\naaaaaaaaaa"' in graph
    assert "\\nnext" in graph and "\\\\n" not in graph
