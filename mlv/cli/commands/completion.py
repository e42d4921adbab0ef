"""``mlv completion SHELL``: the shell's completion script, from click's own mechanism."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

SHELLS = ("bash", "zsh", "fish")
# The variable click's completion protocol answers to; it follows from the program name.
COMPLETE_VAR = "_MLV_COMPLETE"


@click.command()
@click.argument("shell", type=click.Choice(SHELLS), metavar="SHELL")
def completion(shell: str) -> int:
    """Print the completion script for SHELL (bash, zsh or fish).

    \b
    bash:  mlv completion bash > ~/.local/share/bash-completion/completions/mlv
    zsh:   mlv completion zsh > ~/.zfunc/_mlv   (with fpath+=~/.zfunc before compinit)
    fish:  mlv completion fish > ~/.config/fish/completions/mlv.fish
    """
    from mlv.cli.main import cli

    shell_class = get_completion_class(shell)
    assert shell_class is not None  # every name in SHELLS is one click provides
    script = shell_class(cli, {}, "mlv", COMPLETE_VAR).source()
    click.echo(script, nl=not script.endswith("\n"))
    return 0
