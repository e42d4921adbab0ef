"""The lineage of an artifact: which stage made it, from which inputs, back to raw data and code.

Pure data and its JSON-ready dict; ``mlv.render.lineage`` draws it (Mermaid, Graphviz dot).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlv.model.ids import ObjectId


@dataclass
class LineageNode:
    path: str
    id: ObjectId | None
    origin: str  # "stage" (an output), "tracked" (snapshotted input), "code" (in git), "unknown"
    stage: str | None = None
    cmd: str | None = None
    started: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    inputs: list[LineageNode] = field(default_factory=list)


@dataclass
class Lineage:
    root: LineageNode
    commit: str | None  # the code commit recorded with the manifest
    rev: str | None

    def to_dict(self) -> dict[str, Any]:
        def node(n: LineageNode) -> dict[str, Any]:
            return {
                "path": n.path,
                "id": n.id,
                "origin": n.origin,
                "stage": n.stage,
                "cmd": n.cmd,
                "started": n.started,
                "params": n.params,
                "inputs": [node(i) for i in n.inputs],
            }

        return {"rev": self.rev, "commit": self.commit, "lineage": node(self.root)}
