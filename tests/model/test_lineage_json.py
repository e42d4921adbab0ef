"""`mlv lineage --format json` is the shape docs/json.md gives, nested to the raw inputs."""

from __future__ import annotations

from mlv.model.ids import ObjectId
from mlv.model.lineage import Lineage, LineageNode

RAW = ObjectId("xxh128", "1" * 32)
MODEL = ObjectId("xxh128", "2" * 32)


def test_the_lineage_json_names_every_field_at_every_depth() -> None:
    raw = LineageNode("data/raw.csv", RAW, "tracked")
    code = LineageNode("train.py", None, "code")
    model = LineageNode(
        "model.pkl",
        MODEL,
        "stage",
        stage="train",
        cmd="python train.py",
        started="2026-12-04T10:00:00Z",
        params={"params.json:C": 1.0},
        inputs=[raw, code],
    )
    leaf = {"stage": None, "cmd": None, "started": None, "params": {}, "inputs": []}
    assert Lineage(model, "c0ffee", "HEAD").to_dict() == {
        "rev": "HEAD",
        "commit": "c0ffee",
        "lineage": {
            "path": "model.pkl",
            "id": MODEL,
            "origin": "stage",
            "stage": "train",
            "cmd": "python train.py",
            "started": "2026-12-04T10:00:00Z",
            "params": {"params.json:C": 1.0},
            "inputs": [
                {"path": "data/raw.csv", "id": RAW, "origin": "tracked", **leaf},
                {"path": "train.py", "id": None, "origin": "code", **leaf},
            ],
        },
    }
