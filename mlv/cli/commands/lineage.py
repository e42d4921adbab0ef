from __future__ import annotations

import click
from rich.tree import Tree

from mlv.cli.output import out, print_json
from mlv.core.lineage import lineage as do_lineage
from mlv.core.project import open_project
from mlv.model.lineage import LineageNode


def _label(n: LineageNode) -> str:
    oid = n.id.short if n.id else "?"
    if n.origin == "stage":
        params = ", ".join(f"{k}={v}" for k, v in sorted(n.params.items()))
        extra = f" [{params}]" if params else ""
        return f"{n.path} ({oid}) <- stage {n.stage}: {n.cmd}{extra}"
    return f"{n.path} ({oid}) [{n.origin}]"


def _grow(tree: Tree, node: LineageNode) -> None:
    for child in node.inputs:
        _grow(tree.add(_label(child)), child)


@click.command()
@click.argument("path")
@click.option("--rev", default=None, help="Read the lineage recorded at this git revision.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["tree", "json", "mermaid", "dot"]),
    default="tree",
    show_default=True,
    help="How to print the lineage.",
)
def lineage(path: str, rev: str | None, fmt: str) -> int:
    """Walk from an artifact back through the stages that made it, to raw data and code."""
    project = open_project()
    try:
        result = do_lineage(project, path, rev)
    finally:
        project.close()
    if fmt == "json":
        print_json(result.to_dict())
    elif fmt == "mermaid":
        click.echo(result.to_mermaid(), nl=False)
    elif fmt == "dot":
        click.echo(result.to_dot(), nl=False)
    else:
        tree = Tree(_label(result.root))
        _grow(tree, result.root)
        out().print(tree, markup=False)
        out().print(f"code commit: {result.commit or '(none recorded)'}")
    return 0
