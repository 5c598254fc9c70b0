"""``up``, ``plan``, ``apply``, ``down``, ``start``, ``stop``, ``restart``, ``rm``: commands that
run a plan.

Pipeline position: CLI. These parse the flags; ``up``/``plan``/``apply``/``down`` hand them to the
deploy target (``cli.targets``), the others to ``stackup.app.containers``.
"""

from __future__ import annotations

import click

from stackup.cli import complete
from stackup.cli.attach import AttachOptions, attach_options
from stackup.cli.context import Globals, pass_globals
from stackup.cli.help import GroupedCommand
from stackup.cli.plan_options import finish, up_flags

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
        from stackup.cli.cmd_watch import run_watch

        run_watch(g, services, up=False)


@click.command("plan")
@up_flags
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--exit-code", is_flag=True,
              help="Exit 0 when nothing would change, 2 when something would, 1 on error.")
@click.option("--diff", is_flag=True, help="Show each changed field with its old and new value.")
@click.option("--out", "out", type=click.Path(dir_okay=False), metavar="FILE",
              help="Save the plan for `stackup apply FILE` ('-' for stdout).")
@click.option("--revision", type=int, metavar="N",
              help="What `stackup rollback N` would do: plan revision N's recorded model.")
@pass_globals
def plan_cmd(g: Globals, services: tuple[str, ...], force_recreate: bool, no_recreate: bool,
             scale: tuple[str, ...], remove_orphans: bool, timeout: float | None, build: bool,
             pull: str | None, fmt: str, exit_code: bool, diff: bool, out: str | None,
             revision: int | None) -> None:
    """Show what `up` would change: every operation, its cause and what it waits for."""
    g.deploy_target().plan(**locals())


@click.command("apply")
@click.argument("plan_file", metavar="FILE")
@click.option("--wait-timeout", type=float, default=None,
              help="Seconds a wait may take (default: no limit).")
@pass_globals
def apply_cmd(g: Globals, plan_file: str, wait_timeout: float | None) -> None:
    """Run a plan saved by `plan --out FILE` exactly, or nothing if anything moved (exit 3)."""
    g.deploy_target().apply(**locals())


@click.command("down")
@click.option("-v", "--volumes", is_flag=True,
              help="Also remove the project's volumes (anonymous ones included) and its "
                   "revision records (`stackup history`); without -v both are kept.")
@click.option("--remove-orphans", is_flag=True, envvar="COMPOSE_REMOVE_ORPHANS",
              help="Also remove orphan containers (env: COMPOSE_REMOVE_ORPHANS).")
@click.option("-t", "--timeout", type=float, help="Stop timeout in seconds.")
@click.option("--rmi", type=click.Choice(["local", "all"]),
              help="Also remove images: local (built ones without an image: name) or all.")
@pass_globals
def down_cmd(g: Globals, volumes: bool, remove_orphans: bool, timeout: float | None,
             rmi: str | None) -> None:
    """Stop and remove the project's containers and networks (and volumes with -v)."""
    g.deploy_target().down(**locals())


def _simple(verb: str, help_text: str) -> click.Command:
    @click.command(verb, help=help_text)
    @click.option("-t", "--timeout", type=float, help="Stop timeout in seconds.")
    @click.argument("services", nargs=-1, shell_complete=complete.services)
    @pass_globals
    def command(g: Globals, timeout: float | None, services: tuple[str, ...]) -> None:
        _lifecycle(g, verb, services, timeout)

    return command


def _lifecycle(g: Globals, verb: str, services: tuple[str, ...], timeout: float | None,
               **options: bool) -> None:
    """Run start/stop/restart/rm; with -p NAME and no stack file, on the labelled containers."""
    from stackup.app import containers as app
    from stackup.cli.views.progress import Progress
    from stackup.cli.selection import load_or_name

    project, name = load_or_name(g, services)
    progress = Progress(g.progress)
    with g.locked(verb, name):
        plan, outcome = app.lifecycle(verb, project, g.engine(), services=services,
                                      timeout=timeout, run=app.RunOptions(parallel=g.parallel),
                                      on_event=progress.on_event, project_name=name, **options)
    finish(g, plan, outcome, progress, verb)


@click.command("start")
@click.option("--wait", is_flag=True,
              help="Return when the started services are running and healthy.")
@click.option("--wait-timeout", type=float, default=None,
              help="Seconds --wait may take (default: no limit, as Compose).")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def start_cmd(g: Globals, wait: bool, wait_timeout: float | None,
              services: tuple[str, ...]) -> None:
    """Start the project's existing, stopped containers."""
    _lifecycle(g, "start", services, None)
    if wait:
        from stackup.cli.cmd_create import wait_ready

        wait_ready(g, services, wait_timeout)


@click.command("restart")
@click.option("-t", "--timeout", type=float, help="Stop timeout in seconds.")
@click.option("--no-deps", is_flag=True,
              help="Accepted for Compose: only the named services are restarted anyway.")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def restart_cmd(g: Globals, timeout: float | None, no_deps: bool,
                services: tuple[str, ...]) -> None:
    """Restart the project's containers."""
    _lifecycle(g, "restart", services, timeout)


stop_cmd = _simple("stop", "Stop the project's containers without removing them.")


@click.command("rm")
@click.option("-f", "--force", is_flag=True,
              help="Do not ask for confirmation (stackup never asks: accepted for Compose).")
@click.option("-s", "--stop", is_flag=True, help="Stop the running containers first.")
@click.option("-v", "--volumes", is_flag=True, help="Also remove their anonymous volumes.")
@click.option("-t", "--timeout", type=float, help="Stop timeout in seconds (with -s).")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def rm_cmd(g: Globals, force: bool, stop: bool, volumes: bool, timeout: float | None,
           services: tuple[str, ...]) -> None:
    """Remove the project's stopped containers (running ones too with -s)."""
    _lifecycle(g, "rm", services, timeout, stop=stop, remove_volumes=volumes)
