"""The lineage of an artifact as a Mermaid or Graphviz dot graph, and the lines of its tree
view. Names are escaped for each: they may hold quotes, backslashes and HTML."""

from __future__ import annotations

from mlv.model.lineage import Lineage, LineageNode


def tree_label(node: LineageNode) -> str:
    """One line of ``mlv lineage``'s tree view: the path, its id and where it came from."""
    oid = node.id.short if node.id else "?"
    if node.origin == "stage":
        params = ", ".join(f"{k}={v}" for k, v in sorted(node.params.items()))
        extra = f" [{params}]" if params else ""
        return f"{node.path} ({oid}) <- stage {node.stage}: {node.cmd}{extra}"
    return f"{node.path} ({oid}) [{node.origin}]"


def mermaid(lineage: Lineage) -> str:
    paths, stages, edges = graph(lineage)
    ids = _node_ids(paths, stages)
    lines = ["graph LR"]
    for p, n in sorted(paths.items()):
        label = f"{_mermaid_text(p)}<br/>{n.id.short if n.id else '?'}"
        lines.append(f'    {ids["path:" + p]}["{label}"]')
    for s, cmd in sorted(stages):
        lines.append(f'    {ids["stage:" + s]}(["{_mermaid_text(s + ": " + cmd)}"])')
    for a, b in sorted(edges):
        lines.append(f"    {ids[a]} --> {ids[b]}")
    return "\n".join(lines) + "\n"


def dot(lineage: Lineage) -> str:
    paths, stages, edges = graph(lineage)
    ids = _node_ids(paths, stages)
    lines = ["digraph lineage {", "    rankdir=LR;"]
    for p, n in sorted(paths.items()):
        label = f"{_dot_text(p)}\\n{n.id.short if n.id else '?'}"  # \n: a line break
        lines.append(f'    {ids["path:" + p]} [shape=box, label="{label}"];')
    for s, cmd in sorted(stages):
        lines.append(
            f'    {ids["stage:" + s]} [shape=ellipse, label="{_dot_text(s + ": " + cmd)}"];'
        )
    for a, b in sorted(edges):
        lines.append(f"    {ids[a]} -> {ids[b]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def graph(
    lineage: Lineage,
) -> tuple[dict[str, LineageNode], set[tuple[str, str]], set[tuple[str, str]]]:
    """Path nodes, stage nodes (stage -> cmd) and edges, without duplicates."""
    paths: dict[str, LineageNode] = {}
    stages: set[tuple[str, str]] = set()
    edges: set[tuple[str, str]] = set()
    todo = [lineage.root]
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


def _node_ids(paths: dict[str, LineageNode], stages: set[tuple[str, str]]) -> dict[str, str]:
    keys = [f"path:{p}" for p in sorted(paths)] + [f"stage:{s}" for s, _ in sorted(stages)]
    return {k: f"n{i}" for i, k in enumerate(keys)}


# Mermaid renders a label as HTML and decodes its entity codes (``#quot;``, ``#60;``): every
# character that is markup to Mermaid or to HTML is written as one, so a name shows as it is.
_MERMAID = {c: f"#{ord(c)};" for c in '#&"<>`'}


def _mermaid_text(text: str) -> str:
    return "".join(_MERMAID.get(c, c) for c in " ".join(text.splitlines()))


def _dot_text(text: str) -> str:
    """Text for a Graphviz quoted label: a backslash and a quote escaped (so Graphviz shows
    them, rather than reading an escape sequence), a line break as Graphviz's ``\\n``."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return "\\n".join(escaped.splitlines())
