"""``stackup completion bash|zsh|fish``: shell completion for commands, flags and services.

Pipeline position: CLI only. The script printed calls stackup back with ``_STACKUP_COMPLETE``
set (click's completion protocol); service names come from the stack file the global options
on the command line point at (``-f``, ``--project-directory``, discovery), read quietly.
Install: ``eval "$(stackup completion bash)"`` in ~/.bashrc, ``stackup completion zsh >
"${fpath[1]}/_stackup"``, ``stackup completion fish > ~/.config/fish/completions/stackup.fish``.
"""

from __future__ import annotations

import os

import click
from click.shell_completion import CompletionItem, get_completion_class

from stackup.cli.main import cli

COMPLETE_VAR = "_STACKUP_COMPLETE"
SHELLS = ("bash", "zsh", "fish")


def _service_names(ctx: click.Context) -> list[str]:
    """The services of the stack file the command line names; [] when it cannot be read."""
    from stackup.errors import StackupError
    from stackup.loader.loader import LoadOptions, load_project

    params = ctx.find_root().params
    files = tuple(params.get("files") or ())
    if "-" in files:
        return []
    try:
        project = load_project(LoadOptions(
            files=files, project_name=params.get("project_name"),
            project_directory=params.get("project_directory"),
            env_files=tuple(params.get("env_files") or ()),
            profiles=tuple(params.get("profiles") or ()),
            environ=dict(os.environ), cwd=os.getcwd())).project
    except (StackupError, OSError):
        return []
    return sorted({*project.services, *project.disabled_services})


def _completer(suffix: str):  # type: ignore[no-untyped-def]
    def complete(ctx: click.Context, param: click.Parameter,
                 incomplete: str) -> list[CompletionItem]:
        if suffix == ":" and incomplete.startswith((".", "/", "~")):
            return [CompletionItem(incomplete, type="file")]
        return [CompletionItem(f"{name}{suffix}", type="plain")
                for name in _service_names(ctx) if f"{name}{suffix}".startswith(incomplete)]
    return complete


_BY_PARAM = {"service": "", "services": "", "replicas": "=", "source": ":", "destination": ":"}


def attach_service_completion(group: click.Group) -> None:
    """Service names for every SERVICE argument of every command registered so far."""
    for command in group.commands.values():
        for param in command.params:
            if isinstance(param, click.Argument) and param.name in _BY_PARAM:
                param._custom_shell_complete = _completer(_BY_PARAM[param.name])  # noqa: SLF001


@cli.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion_cmd(shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish)."""
    script = get_completion_class(shell)(cli, {}, "stackup", COMPLETE_VAR).source()
    click.echo(script)
