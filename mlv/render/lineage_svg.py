"""The lineage graph drawn as SVG: a layered layout computed here (inputs on the left, each
stage between its inputs and outputs), so no Graphviz binary is needed."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from mlv.model.lineage import Lineage, LineageNode
from mlv.render.document import document
from mlv.render.lineage import graph

NODE_W, NODE_H, GAP_X, GAP_Y, MARGIN = 210, 44, 70, 18, 12
MAX_NODES = 400  # larger graphs are cut (the report says how many nodes were left out)
LABEL = 30  # characters of a label drawn; the whole text is in the node's tooltip
_FILL = {
    "stage": "#fde7c8",
    "tracked": "#d6e6fb",
    "code": "#e6e6e6",
    "unknown": "#f8d4d4",
    "output": "#d8f0d8",
}


def _cut(text: str) -> str:
    return text if len(text) <= LABEL else text[: LABEL - 1] + "…"


def _nodes(
    lineages: Sequence[Lineage],
) -> tuple[dict[str, tuple[str, str, str]], set[tuple[str, str]]]:
    """Node key -> (first line, second line, fill) and the edges of all the lineages merged."""
    nodes: dict[str, tuple[str, str, str]] = {}
    edges: set[tuple[str, str]] = set()
    for lin in lineages:
        paths, stages, found = graph(lin)
        for p, n in paths.items():
            nodes[f"path:{p}"] = (p, n.id.short if n.id else "?", _fill(n))
        for s, cmd in stages:
            nodes[f"stage:{s}"] = (f"stage {s}", cmd, _FILL["stage"])
        edges |= found
    return nodes, edges


def _fill(node: LineageNode) -> str:
    if node.origin == "stage":  # a path some stage wrote
        return _FILL["output"]
    return _FILL.get(node.origin, _FILL["unknown"])


def _layers(keys: list[str], edges: set[tuple[str, str]]) -> dict[str, int]:
    """Each node's layer: the longest path to it from a node without inputs (Kahn's order;
    nodes on a cycle of a malformed manifest go to the last layer)."""
    preds: dict[str, list[str]] = {k: [] for k in keys}
    succs: dict[str, list[str]] = {k: [] for k in keys}
    for a, b in sorted(edges):
        if a in preds and b in preds:
            preds[b].append(a)
            succs[a].append(b)
    waiting = {k: len(preds[k]) for k in keys}
    ready = [k for k in keys if waiting[k] == 0]
    layer: dict[str, int] = {}
    while ready:
        k = ready.pop()
        layer[k] = max((layer[p] + 1 for p in preds[k]), default=0)
        for s in succs[k]:
            waiting[s] -= 1
            if waiting[s] == 0:
                ready.append(s)
    last = max(layer.values(), default=-1) + 1
    return {k: layer.get(k, last) for k in keys}


def lineage_svg(lineages: Sequence[Lineage]) -> tuple[str, int]:
    """The merged graph of ``lineages`` as an SVG element, and the number of nodes left out."""
    nodes, edges = _nodes(lineages)
    keys = sorted(nodes)
    omitted = max(0, len(keys) - MAX_NODES)
    keys = keys[:MAX_NODES]
    layer = _layers(keys, edges)
    columns: dict[int, list[str]] = {}
    for k in keys:
        columns.setdefault(layer[k], []).append(k)
    row: dict[str, float] = {}
    for col in sorted(columns):
        # order each column by where its inputs sit (barycentre), so edges cross less
        def centre(k: str) -> float:
            found = [row[a] for a, b in edges if b == k and a in row]
            return sum(found) / len(found) if found else 0.0

        for i, k in enumerate(sorted(columns[col], key=lambda k: (centre(k), k))):
            row[k] = i
    height = max((len(c) for c in columns.values()), default=1)
    width = MARGIN * 2 + len(columns) * (NODE_W + GAP_X) - GAP_X
    total_h = MARGIN * 2 + height * (NODE_H + GAP_Y) - GAP_Y
    pos = {
        k: (MARGIN + layer[k] * (NODE_W + GAP_X), MARGIN + row[k] * (NODE_H + GAP_Y)) for k in keys
    }
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage" width="{max(width, 1)}"'
        f' height="{max(total_h, 1)}" viewBox="0 0 {max(width, 1)} {max(total_h, 1)}"'
        ' font-family="sans-serif" font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7"'
        ' markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#666"/>'
        "</marker></defs>",
    ]
    for a, b in sorted(edges):
        if a not in pos or b not in pos:
            continue
        (x1, y1), (x2, y2) = pos[a], pos[b]
        x1, y1, y2 = x1 + NODE_W, y1 + NODE_H / 2, y2 + NODE_H / 2
        mid = (x1 + x2) / 2
        parts.append(
            f'<path class="edge" d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" fill="none"'
            ' stroke="#666" marker-end="url(#arrow)"/>'
        )
    for k in keys:
        (x, y), (first, second, fill) = pos[k], nodes[k]
        kind = "stage" if k.startswith("stage:") else "artifact"
        rx = 18 if kind == "stage" else 4
        parts.append(
            f'<g class="node {kind}"><title>{escape(first)}\n{escape(second)}</title>'
            f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="{rx}" fill="{fill}"'
            ' stroke="#555"/>'
            f'<text x="{x + 8}" y="{y + 17}" font-weight="bold">{escape(_cut(first))}</text>'
            f'<text x="{x + 8}" y="{y + 34}" fill="#444">{escape(_cut(second))}</text></g>'
        )
    parts.append("</svg>")
    return "\n".join(parts), omitted


def lineage_html(lineage: Lineage) -> str:
    """A page holding the lineage graph of one artifact alone (``mlv lineage --format html``)."""
    svg, omitted = lineage_svg([lineage])
    note = f"<p>{omitted} nodes not drawn</p>" if omitted else ""
    title = f"lineage of {lineage.root.path}"
    code = f"<p>code commit: <code>{escape(lineage.commit or '(none recorded)')}</code></p>"
    return document(title, f"<h1>{escape(title)}</h1>{code}{note}<div class='graph'>{svg}</div>")
