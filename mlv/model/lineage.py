"""The lineage of an artifact: which stage made it, from which inputs, back to raw data and code.

Pure data and its renderings (JSON-ready dict, Mermaid, Graphviz dot).
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

    def _edges(self) -> tuple[dict[str, LineageNode], set[tuple[str, str]], set[tuple[str, str]]]:
        """Path nodes, stage nodes (stage -> cmd) and edges, without duplicates."""
        paths: dict[str, LineageNode] = {}
        stages: set[tuple[str, str]] = set()
        edges: set[tuple[str, str]] = set()
        todo = [self.root]
        while todo:
            n = todo.pop()
            if n.path in paths:
                continue
            paths[n.path] = n
            if n.stage is not None:
                stages.add((n.stage, n.cmd or ""))
                edges.add((f"stage:{n.stage}", f"path:{n.path}"))
                for i in n.inputs:
                    edges.add((f"path:{i.path}", f"stage:{n.stage}"))
            todo.extend(n.inputs)
        return paths, stages, edges

    def to_mermaid(self) -> str:
        paths, stages, edges = self._edges()
        ids = _node_ids(paths, stages)
        lines = ["graph LR"]
        for p, n in sorted(paths.items()):
            label = f"{p}<br/>{n.id.short if n.id else '?'}"
            lines.append(f'    {ids["path:" + p]}["{_escape(label)}"]')
        for s, cmd in sorted(stages):
            lines.append(f'    {ids["stage:" + s]}(["{_escape(s + ": " + cmd)}"])')
        for a, b in sorted(edges):
            lines.append(f"    {ids[a]} --> {ids[b]}")
        return "\n".join(lines) + "\n"

    def to_dot(self) -> str:
        paths, stages, edges = self._edges()
        ids = _node_ids(paths, stages)
        lines = ["digraph lineage {", "    rankdir=LR;"]
        for p, n in sorted(paths.items()):
            label = f"{p}\\n{n.id.short if n.id else '?'}"
            lines.append(f'    {ids["path:" + p]} [shape=box, label="{_escape(label)}"];')
        for s, cmd in sorted(stages):
            lines.append(
                f'    {ids["stage:" + s]} [shape=ellipse, label="{_escape(s + ": " + cmd)}"];'
            )
        for a, b in sorted(edges):
            lines.append(f"    {ids[a]} -> {ids[b]};")
        lines.append("}")
        return "\n".join(lines) + "\n"


def _node_ids(paths: dict[str, LineageNode], stages: set[tuple[str, str]]) -> dict[str, str]:
    keys = [f"path:{p}" for p in sorted(paths)] + [f"stage:{s}" for s, _ in sorted(stages)]
    return {k: f"n{i}" for i, k in enumerate(keys)}


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', "'")
