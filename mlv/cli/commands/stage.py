from __future__ import annotations

import shlex

import click
from rich.table import Table

from mlv.cli.output import out
from mlv.core.declare.stage import add_stage
from mlv.core.project import open_project


@click.group()
def stage() -> None:
    """Declare and list pipeline stages (kept in mlv.toml)."""


def _kind_pairs(values: tuple[str, ...]) -> dict[str, str]:
    pairs = {}
    for value in values:
        path, sep, kind = value.rpartition("=")
        if not sep or not path:
            raise click.BadParameter(f"{value!r} is not OUT=KIND", param_hint="--kind-of")
        pairs[path] = kind
    return pairs


@stage.command("add")
@click.argument("name")
@click.argument("cmd", nargs=-1, required=True, metavar="-- CMD...")
@click.option(
    "-d",
    "--dep",
    "deps",
    multiple=True,
    metavar="DEP",
    help="A file or directory the command reads (code, data, another stage's output).",
)
@click.option(
    "-o",
    "--out",
    "outs",
    multiple=True,
    metavar="OUT",
    help="A file or directory the command writes; it becomes a tracked artifact.",
)
@click.option(
    "-p",
    "--params",
    "params",
    multiple=True,
    metavar="FILE[:k1,k2]",
    help="Params the command reads: keys of a JSON/YAML/TOML file (all keys if none).",
)
@click.option(
    "-M",
    "--metrics",
    "metrics",
    multiple=True,
    metavar="FILE",
    help="A metrics file (JSON/YAML/TOML) the command writes.",
)
@click.option(
    "--kind-of",
    "kind_of",
    multiple=True,
    metavar="OUT=KIND",
    help="Kind of an output (default inferred: model files -> model, ...).",
)
@click.option("--force", is_flag=True, help="Replace a stage of the same name.")
def add(
    name: str,
    cmd: tuple[str, ...],
    deps: tuple[str, ...],
    outs: tuple[str, ...],
    params: tuple[str, ...],
    metrics: tuple[str, ...],
    kind_of: tuple[str, ...],
    force: bool,
) -> int:
    """Declare stage NAME: a command, what it reads and what it writes.

    \b
    Example:
      mlv stage add train -d train.py -d data/features -p params.json:C,seed \\
          -o models/model.pkl -M metrics.json -- python train.py
    One CMD word is run as a shell command line; several are quoted and joined.
    """
    command = cmd[0] if len(cmd) == 1 else shlex.join(cmd)
    project = open_project()
    try:
        decl = add_stage(
            project,
            name,
            command,
            deps=list(deps),
            outs=list(outs),
            params=list(params),
            metrics=list(metrics),
            kinds=_kind_pairs(kind_of),
            force=force,
        )
    finally:
        project.close()
    out().print(f"stage {decl.name}: {decl.cmd}")
    out().print("Next: mlv run")
    return 0


@stage.command("list")
def list_() -> int:
    """List the declared stages in the order they run."""
    from mlv.model.stages import topological_order

    project = open_project()
    project.close()
    stages = project.declarations.stages
    if not stages:
        out().print("No stages. Declare one with `mlv stage add`.")
        return 0
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("stage", "command", "deps", "outputs"):
        table.add_column(column)
    for name in topological_order(stages):
        s = stages[name]
        table.add_row(name, s.cmd, ", ".join(s.deps), ", ".join(s.outputs))
    out().print(table)
    return 0
