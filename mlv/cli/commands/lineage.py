from __future__ import annotations

import click
from rich.tree import Tree

from mlv.cli.output import out, print_json
from mlv.core.pipeline.lineage import lineage as do_lineage
from mlv.core.project import open_project
from mlv.model.lineage import LineageNode
from mlv.render.lineage import dot, mermaid, tree_label


def _grow(tree: Tree, node: LineageNode) -> None:
    for child in node.inputs:
        _grow(tree.add(tree_label(child)), child)


@click.command()
@click.argument("path")
@click.option("--rev", default=None, help="Read the lineage recorded at this git revision.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["tree", "json", "mermaid", "dot", "svg", "html"]),
    default="tree",
    show_default=True,
    help="How to print the lineage (svg and html draw the graph; redirect to a file).",
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
        click.echo(mermaid(result), nl=False)
    elif fmt == "dot":
        click.echo(dot(result), nl=False)
    elif fmt in ("svg", "html"):
        from mlv.render.lineage_svg import lineage_html, lineage_svg

        drawn = lineage_html(result) if fmt == "html" else lineage_svg([result])[0] + "\n"
        click.echo(drawn, nl=False)
    else:
        tree = Tree(tree_label(result.root))
        _grow(tree, result.root)
        out().print(tree, markup=False)
        out().print(f"code commit: {result.commit or '(none recorded)'}")
    return 0
