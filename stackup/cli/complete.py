"""Shell completion of SERVICE arguments: the services of the stack file the command line names.

Pipeline position: CLI only. Each command module passes one of these as an argument's
``shell_complete`` (click's public completion hook); ``cmd_completion`` prints the shell script
that calls stackup back with ``_STACKUP_COMPLETE`` set. The stack file is read quietly: one that
cannot be read completes nothing.
"""

from __future__ import annotations

import os

import click
from click.shell_completion import CompletionItem


def service_names(ctx: click.Context) -> list[str]:
    """The services of the stack file the command line names; [] when it cannot be read."""
    from stackup.core.errors import StackupError
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


def _names(ctx: click.Context, incomplete: str, suffix: str) -> list[CompletionItem]:
    return [CompletionItem(f"{name}{suffix}", type="plain")
            for name in service_names(ctx) if f"{name}{suffix}".startswith(incomplete)]


def services(ctx: click.Context, param: click.Parameter,
             incomplete: str) -> list[CompletionItem]:
    """``SERVICE``: a service name."""
    return _names(ctx, incomplete, "")


def replicas(ctx: click.Context, param: click.Parameter,
             incomplete: str) -> list[CompletionItem]:
    """``SERVICE=N`` (``scale``): a service name and ``=``."""
    return _names(ctx, incomplete, "=")


def container_path(ctx: click.Context, param: click.Parameter,
                   incomplete: str) -> list[CompletionItem]:
    """``SERVICE:PATH`` or a local path (``cp``): a service name and ``:``, or files."""
    if incomplete.startswith((".", "/", "~")):
        return [CompletionItem(incomplete, type="file")]
    return _names(ctx, incomplete, ":")
