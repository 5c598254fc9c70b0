"""``stackup push``: push the images of services that name one to their registries."""

from __future__ import annotations

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.cli.image_runs import finish_images, run_images, warn_failures


@click.command("push")
@click.option("--ignore-push-failures", is_flag=True,
              help="Warn about images that cannot be pushed, and exit 0.")
@click.option("--include-deps", is_flag=True,
              help="Also push for the services the named ones depend on.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def push_cmd(g: Globals, ignore_push_failures: bool, include_deps: bool, quiet: bool,
             services: tuple[str, ...]) -> None:
    """Push the images of services that name one to their registries."""
    plan, outcome, progress = run_images(g, "push", services, quiet=quiet, include_deps=include_deps)
    if outcome is not None and ignore_push_failures and not outcome.ok:
        warn_failures(outcome)
        return
    finish_images(g, "push", plan, outcome, progress, quiet)
