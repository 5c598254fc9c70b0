"""``stackup up``: create and start the stack's containers, changing only what differs."""

from __future__ import annotations

import click

from stackup.cli.attach import AttachOptions, attach_options
from stackup.cli.context import Globals, pass_globals
from stackup.cli.help import GroupedCommand
from stackup.cli.plan_options import up_flags

UP_OPTION_GROUPS = (
    ("Common options", ("detach", "wait", "build", "pull", "force_recreate", "remove_orphans",
                        "watch")),
    ("Which containers", ("no_deps", "scale", "no_recreate", "always_recreate_deps", "no_start",
                          "no_build", "renew_anon_volumes")),
    ("Waiting and failures", ("wait_timeout", "timeout", "rollback_on_failure")),
    ("Attached output (without -d)", ("abort_on_container_exit", "abort_on_container_failure",
                                      "exit_code_from", "attach", "no_attach",
                                      "attach_dependencies", "timestamps", "no_log_prefix",
                                      "no_color")),
)


@click.command("up", cls=GroupedCommand, option_groups=UP_OPTION_GROUPS)
@up_flags
@attach_options
@click.option("-d", "--detach", is_flag=True,
              help="Detached: return once the plan ran (default: stream the output).")
@click.option("--wait", is_flag=True, help="Return when every service is running and healthy.")
@click.option("--wait-timeout", type=float, default=None,
              help="Seconds --wait may take (default: no limit, as Compose).")
@click.option("--no-deps", is_flag=True, help="Don't start the named services' dependencies.")
@click.option("--no-build", is_flag=True, help="Never build images (a missing one is an error).")
@click.option("--no-start", is_flag=True, help="Create containers, don't start them.")
@click.option("-V", "--renew-anon-volumes", is_flag=True,
              help="Replaced containers get new anonymous volumes instead of the old ones'.")
@click.option("--always-recreate-deps", is_flag=True,
              help="Recreate the named services' dependencies too.")
@click.option("--quiet-pull", is_flag=True, help="Pull without printing progress.")
@click.option("--quiet-build", is_flag=True, help="Build without printing its output.")
@click.option("-y", "--yes", is_flag=True, help="Accepted for Compose (stackup never asks).")
@click.option("--rollback-on-failure", is_flag=True,
              help="When an operation fails or --wait is not met, converge back to the "
                   "previous good revision, then exit 1.")
@click.option("--watch", is_flag=True,
              help="Then follow the services' develop.watch rules, as `stackup watch` "
                   "(implies -d).")
@pass_globals
def up_cmd(g: Globals, attach: AttachOptions, services: tuple[str, ...],
           force_recreate: bool, no_recreate: bool,
           scale: tuple[str, ...], remove_orphans: bool, timeout: float | None, build: bool,
           pull: str | None, detach: bool, wait: bool, wait_timeout: float | None,
           no_deps: bool, no_build: bool, no_start: bool, renew_anon_volumes: bool,
           always_recreate_deps: bool, quiet_pull: bool, quiet_build: bool, yes: bool,
           rollback_on_failure: bool, watch: bool) -> None:
    """Create and start the stack's containers, changing only what differs."""
    options = dict(locals())
    del options["watch"]
    if watch:  # detached, then the watch loop
        import dataclasses

        options["detach"], options["attach"] = True, dataclasses.replace(attach, detach=True)
    g.deploy_target().up(**options)
    if watch:
        from stackup.cli.commands.watch import run_watch

        run_watch(g, services, up=False)
