"""``stackup completion bash|zsh|fish``: shell completion for commands, flags and services.

Pipeline position: CLI only. The script printed calls stackup back with ``_STACKUP_COMPLETE``
set (click's completion protocol); service names come from the stack file the global options
on the command line point at (``-f``, ``--project-directory``, discovery), read quietly
(``cli.complete``).
Install: ``eval "$(stackup completion bash)"`` in ~/.bashrc, ``stackup completion zsh >
"${fpath[1]}/_stackup"``, ``stackup completion fish > ~/.config/fish/completions/stackup.fish``.
"""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

COMPLETE_VAR = "_STACKUP_COMPLETE"
SHELLS = ("bash", "zsh", "fish")


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion_cmd(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish)."""
    completion = get_completion_class(shell)
    if completion is None:  # click.Choice let only the shells click knows through
        raise click.UsageError(f"no completion for {shell}")
    root = ctx.find_root()
    script = completion(root.command, {}, root.info_name or "stackup", COMPLETE_VAR).source()
    click.echo(script)
