"""`mlv env`: show, diff and restore recorded environments; list and remove cached ones."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import msgspec

from mlv.cli.output import err, human_size, json_option_help, out, print_json

F = TypeVar("F", bound=Callable[..., Any])


def installer_options(func: F) -> F:
    """Options for the installer of a rebuilt environment (env restore, reproduce --env)."""
    for option in reversed(
        [
            click.option(
                "--installer",
                type=click.Choice(["auto", "uv", "pip"]),
                default="auto",
                show_default=True,
                help="Which installer builds the environment (auto: uv when available).",
            ),
            click.option(
                "--python",
                "python",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Build with this interpreter instead of the recorded version.",
            ),
            click.option(
                "--find-links", multiple=True, metavar="DIR|URL", help="Passed on to the installer."
            ),
            click.option("--index-url", metavar="URL", help="Passed on to the installer."),
            click.option(
                "--extra-index-url",
                multiple=True,
                metavar="URL",
                help="Passed on to the installer.",
            ),
            click.option("--no-index", is_flag=True, help="Passed on to the installer."),
        ]
    ):
        func = option(func)
    return func


def installer_args(
    find_links: tuple[str, ...], index_url: str | None, extra: tuple[str, ...], no_index: bool
) -> list[str]:
    args = [a for link in find_links for a in ("--find-links", link)]
    if index_url:
        args += ["--index-url", index_url]
    args += [a for url in extra for a in ("--extra-index-url", url)]
    return args + (["--no-index"] if no_index else [])


def on_step(as_json: bool) -> Callable[[str, str], None]:
    def step(kind: str, detail: str) -> None:
        if not as_json:
            from rich.markup import escape

            err().print(f"[bold]{escape(kind)}[/bold] {escape(detail)}", highlight=False)

    return step


@click.group()
def env() -> None:
    """Show, diff and restore the environments snapshots recorded.

    \b
    mlv env show [REV]                   the recorded interpreter, platform, packages...
    mlv env diff [REV_A [REV_B]]         REV_A (default HEAD) against REV_B or this interpreter
    mlv env restore REV --venv DIR       rebuild REV's environment as a virtual environment
    mlv env cache list|remove            environments built by `mlv reproduce --env recorded`
    """


@env.command("show")
@click.argument("rev", default="HEAD")
@click.option("--json", "as_json", is_flag=True, help=json_option_help())
def show_cmd(rev: str, as_json: bool) -> int:
    """Show the environment REV (default HEAD) recorded, grouped."""
    from mlv.core.env.ops import show
    from mlv.core.project import open_project

    project = open_project()
    try:
        shown = show(project, rev)
    finally:
        project.close()
    record = shown.record
    if as_json:
        print_json(
            {
                "rev": shown.rev,
                "commit": shown.commit,
                "environment": msgspec.to_builtins(record, enc_hook=str),
                "mlv": None if shown.writer is None else msgspec.to_builtins(shown.writer),
            }
        )
        return 0
    console = out()
    p = record.platform
    console.print(f"environment of {rev} ({shown.commit[:10]}): {record.fingerprint}", markup=False)
    console.print(f"python:   {record.python.implementation} {record.python.version}", markup=False)
    console.print(f"platform: {p.system}-{p.machine} (release {p.release})", markup=False)
    if shown.writer is not None:
        w = shown.writer
        console.print(f"mlv:      {w.distribution} {w.version} ({w.install})", markup=False)
    sources = record.package_sources
    console.print(f"packages: {len(record.packages)}")
    for name, version in sorted(record.versions().items()):
        where = f"  [{sources[name].describe()}]" if name in sources else ""
        console.print(f"  {name}=={version}{where}", markup=False)
    for title, items in (
        ("lockfiles", [f"{n}: {oid}" for n, oid in sorted(record.lockfiles.items())]),
        ("variables", [f"{n}={v}" for n, v in sorted(record.variables.items())]),
    ):
        if items:
            console.print(f"{title}:")
            for item in items:
                console.print(f"  {item}", markup=False)
    conda = record.conda_env
    if conda is not None:
        console.print(f"conda:    {conda.name}, {len(conda.packages)} package(s)", markup=False)
        for package in conda.packages:
            console.print(f"  {package}", markup=False)
    cuda = record.cuda_stack
    if cuda is not None:
        parts = [f"{f} {getattr(cuda, f)}" for f in ("driver", "cuda", "torch", "cudnn")]
        console.print(f"gpu:      {', '.join(x for x in parts if x.split()[1:])}", markup=False)
    return 0


@env.command("diff")
@click.argument("rev_a", required=False)
@click.argument("rev_b", required=False)
@click.option("--json", "as_json", is_flag=True, help=json_option_help())
def diff_cmd(rev_a: str | None, rev_b: str | None, as_json: bool) -> int:
    """Show how the environment changed between two records.

    REV_A (default HEAD) against REV_B (default: the running interpreter): packages upgraded,
    downgraded, added, removed; interpreter, platform, lockfiles (with the pins that changed),
    variables, conda, CUDA.
    """
    from mlv.cli.render_env import render_diff
    from mlv.core.env.ops import diff
    from mlv.core.project import open_project

    project = open_project()
    try:
        old, new, result = diff(project, rev_a, rev_b)
    finally:
        project.close()
    if as_json:
        print_json({"old": old, "new": new, **result.to_dict()})
    else:
        render_diff(old, new, result)
    return 0


@env.command("restore")
@click.argument("rev")
@click.option(
    "--venv",
    "venv",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The directory to create the virtual environment in (new or empty).",
)
@installer_options
@click.option(
    "--from-record", is_flag=True, help="Install the recorded package list, not a lockfile."
)
@click.option("--force", is_flag=True, help="Replace an environment mlv restored there before.")
@click.option("--json", "as_json", is_flag=True, help=json_option_help())
def restore_cmd(
    rev: str,
    venv: Path,
    installer: str,
    python: Path | None,
    find_links: tuple[str, ...],
    index_url: str | None,
    extra_index_url: tuple[str, ...],
    no_index: bool,
    from_record: bool,
    force: bool,
    as_json: bool,
) -> int:
    """Rebuild the environment REV recorded as a virtual environment.

    The recorded interpreter version is required (or --python); the recorded distributions are
    installed pinned exactly (from a requirements lockfile when it pins the same versions), with
    uv when available, else pip. Installer options (--find-links, --index-url...) pass through.
    The project itself, when it was installed editable, is installed from REV's code, exported
    into DIR/mlv-code. DIR is ready only when the command succeeds; a failed or interrupted
    restore leaves nothing that looks ready (see docs/environments.md).
    """
    from mlv.core.env.ops import RestoreOptions, restore_environment
    from mlv.core.env.restore import mismatch_note
    from mlv.core.project import open_project

    options = RestoreOptions(
        installer=installer,
        python=python,
        installer_args=installer_args(find_links, index_url, extra_index_url, no_index),
        from_record=from_record,
        force=force,
    )
    project = open_project()
    try:
        result = restore_environment(project, rev, venv, options, on_step=on_step(as_json))
    finally:
        project.close()
    if as_json:
        print_json({"rev": rev, **result.to_dict()})
        return 0
    console = out()
    for note in result.notes:
        console.print(f"note: {note}", markup=False)
    mismatch = mismatch_note(result)
    if mismatch:
        console.print(f"[yellow]warning:[/yellow] {mismatch}")
    verb = "restored" if result.built else "already restored"
    console.print(
        f"{verb}: {result.path} (python {result.python}, {result.installer}, from"
        f" {result.source}{f', {result.seconds:.1f} s' if result.built else ''})",
        markup=False,
    )
    return 0


@env.group("cache")
def cache_group() -> None:
    """List or remove the environments `mlv reproduce --env recorded` built.

    One per fingerprint, shared by your clones, in MLV_ENV_CACHE, else
    $XDG_CACHE_HOME/mlv/envs, else ~/.cache/mlv/envs.
    """


@cache_group.command("list")
@click.option("--json", "as_json", is_flag=True, help=json_option_help())
def cache_list(as_json: bool) -> int:
    """List cached environments, most recently used first."""
    from mlv.core.env.cache import cache_root, list_cached

    entries, ignored = list_cached()
    if as_json:
        print_json(
            {
                "root": str(cache_root()),
                "environments": [e.to_dict() for e in entries],
                "ignored": [str(p) for p in ignored],
            }
        )
        return 0
    console = out()
    if not entries:
        console.print(f"no cached environments in {cache_root()}", markup=False)
    for e in entries:
        if e.building:
            state = "  (being built now)"
        elif not e.ready:
            state = "  (incomplete: a build that was interrupted; replaced by the next build)"
        else:
            state = ""
        origin = f"  built from {(e.commit or e.rev)[:10]}" if e.ready else ""
        console.print(
            f"{e.fingerprint}  python {e.python or '?'}  {human_size(e.size)}{origin}{state}",
            markup=False,
        )
    for path in ignored:
        console.print(f"ignored (not an environment of mlv's): {path}", markup=False)
    return 0


@cache_group.command("remove")
@click.argument("fingerprints", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Remove every cached environment.")
@click.option("--json", "as_json", is_flag=True, help=json_option_help())
def cache_remove(fingerprints: tuple[str, ...], everything: bool, as_json: bool) -> int:
    """Remove cached environments by fingerprint (a prefix is enough), or --all."""
    from mlv.core.env.cache import remove_cached
    from mlv.errors import UsageError

    if not fingerprints and not everything:
        raise UsageError("name the environments to remove", "give fingerprints, or --all")
    removed = remove_cached(list(fingerprints), everything=everything)
    if as_json:
        print_json({"removed": [e.to_dict() for e in removed]})
        return 0
    for e in removed:
        out().print(f"removed {e.fingerprint} ({human_size(e.size)})", markup=False)
    return 0
