"""``stackup pull``: pull the images of services that name one, in parallel."""

from __future__ import annotations

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.cli.image_runs import finish_images, run_images, warn_failures


@click.command("pull")
@click.option("--ignore-pull-failures", is_flag=True,
              help="Warn about images that cannot be pulled, and exit 0.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.option("--policy", type=click.Choice(["always", "missing"]), default="always",
              show_default=True, help="missing: only images the engine does not have.")
@click.option("--include-deps", is_flag=True,
              help="Also pull for the services the named ones depend on.")
@click.option("--ignore-buildable", is_flag=True,
              help="Do not pull the images of services that have a build section.")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def pull_cmd(g: Globals, ignore_pull_failures: bool, quiet: bool, policy: str,
             include_deps: bool, ignore_buildable: bool, services: tuple[str, ...]) -> None:
    """Pull the images of services that name one, in parallel."""
    plan, outcome, progress = run_images(g, "pull", services, quiet=quiet, include_deps=include_deps,
                                   missing_only=policy == "missing",
                                   ignore_buildable=ignore_buildable)
    if outcome is not None and ignore_pull_failures and not outcome.ok:
        warn_failures(outcome)
        return
    finish_images(g, "pull", plan, outcome, progress, quiet)
