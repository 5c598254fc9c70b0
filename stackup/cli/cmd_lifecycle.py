"""``up``, ``plan``, ``down``, ``start``, ``stop``, ``restart``, ``rm``: commands that run a plan.

Pipeline position: CLI over ``stackup.app.containers``. ``plan`` renders exactly the plan ``up`` would run.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from stackup.cli import complete
from stackup.cli.cmd_history import after_up, load_revision_project, record_revision
from stackup.cli.attach import AttachOptions, attach_options
from stackup.cli import cmd_swarm
from stackup.cli.context import Globals, pass_globals
from stackup.core.errors import ProjectError

if TYPE_CHECKING:
    from stackup.cli.views.progress import Progress
    from stackup.run.events import Event, Outcome
    from stackup.core.model import Project
    from stackup.core.plan import Plan
    from stackup.reconcile import UpOptions

F = TypeVar("F", bound=Callable[..., Any])


def _parse_scale(values: tuple[str, ...]) -> dict[str, int]:
    scale: dict[str, int] = {}
    for value in values:
        name, sep, number = value.partition("=")
        if not sep or not number.isdigit() or not name:
            raise click.BadParameter(f"expected SERVICE=N, found {value!r}", param_hint="--scale")
        scale[name] = int(number)
    return scale


def _up_options(project: Project, services: tuple[str, ...], scale: tuple[str, ...],
                force_recreate: bool, no_recreate: bool, remove_orphans: bool,
                timeout: float | None, build: bool = False,
                pull: str | None = None, **more: bool) -> UpOptions:
    from stackup.app.containers import check_services
    from stackup.core.model import FrozenMap
    from stackup.reconcile import UpOptions

    if force_recreate and no_recreate:
        raise click.UsageError("--force-recreate and --no-recreate cannot be used together")
    scales = _parse_scale(scale)
    check_services(project, [*services, *scales])
    return UpOptions(services=services, force_recreate=force_recreate, no_recreate=no_recreate,
                     scale=FrozenMap(scales), remove_orphans=remove_orphans, timeout=timeout,
                     build=build, pull=pull, ignore_orphans=compose_ignore_orphans(),
                     **more)


def compose_ignore_orphans() -> bool:
    """``COMPOSE_IGNORE_ORPHANS=true``: no note about orphan containers (``--remove-orphans``,
    refused with it by ``check_orphan_flags``, would remove them instead)."""
    import os

    return os.environ.get("COMPOSE_IGNORE_ORPHANS", "").strip().lower() in ("1", "true")


def check_orphan_flags(remove_orphans: bool) -> None:
    """A usage error, before anything runs, for ``--remove-orphans`` with the variable set."""
    if remove_orphans and compose_ignore_orphans():
        raise click.UsageError("COMPOSE_IGNORE_ORPHANS and --remove-orphans cannot be combined")


def up_flags(func: F) -> F:
    for option in reversed([
        click.option("--force-recreate", is_flag=True, help="Recreate even if unchanged."),
        click.option("--no-recreate", is_flag=True, help="Never recreate existing containers."),
        click.option("--scale", multiple=True, metavar="SERVICE=N", help="Replicas (repeatable)."),
        click.option("--remove-orphans", is_flag=True, envvar="COMPOSE_REMOVE_ORPHANS",
                     help="Remove containers of services no longer in the file "
                          "(env: COMPOSE_REMOVE_ORPHANS)."),
        click.option("-t", "--timeout", type=float, help="Stop timeout in seconds."),
        click.option("--build", is_flag=True, help="Build images of services with build: first."),
        click.option("--pull", type=click.Choice(["always", "missing", "never"]),
                     help="Pull images: always, when missing, or never (overrides pull_policy)."),
        click.argument("services", nargs=-1, shell_complete=complete.services),
    ]):
        func = option(func)
    return func


def _finish(g: Globals, plan: Plan, outcome: Outcome, progress: Progress, verb: str) -> None:
    progress.summary(plan, outcome, verb=verb)
    g.show_tracebacks(outcome.failed)
    if not outcome.ok:
        sys.exit(1)


def _without_pull_output(sink: Callable[[Event], None]) -> Callable[[Event], None]:
    """--quiet-pull: the pull operations still show, their progress lines do not."""
    def quiet(event: Event) -> None:
        if event.phase == "output" and event.kind.value == "pull_image":
            return
        sink(event)

    return quiet


@click.command("up")
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
@click.option("--rollback-on-failure", is_flag=True,
              help="When an operation fails or --wait is not met, converge back to the "
                   "previous good revision, then exit 1.")
@pass_globals
def up_cmd(g: Globals, attach: AttachOptions, services: tuple[str, ...],
           force_recreate: bool, no_recreate: bool,
           scale: tuple[str, ...], remove_orphans: bool, timeout: float | None, build: bool,
           pull: str | None, detach: bool, wait: bool, wait_timeout: float | None,
           no_deps: bool, no_build: bool, no_start: bool, renew_anon_volumes: bool,
           always_recreate_deps: bool, quiet_pull: bool, rollback_on_failure: bool) -> None:
    """Create and start the stack's containers, changing only what differs."""
    if g.target == "swarm":
        return cmd_swarm.up(**locals())
    from stackup.app import containers as app
    from stackup.cli.views.progress import Progress

    check_orphan_flags(remove_orphans)
    project = g.load(services).project
    if no_build and build:
        raise click.UsageError("--build and --no-build cannot be used together")
    options = _up_options(project, services, scale, force_recreate, no_recreate,
                          remove_orphans, timeout, build, pull, no_deps=no_deps,
                          no_build=no_build, no_start=no_start,
                          renew_anon_volumes=renew_anon_volumes,
                          always_recreate_deps=always_recreate_deps)
    engine = g.engine()
    progress = Progress(g.progress)
    on_event = progress.on_event if not quiet_pull else _without_pull_output(progress.on_event)
    run = app.RunOptions(parallel=g.parallel, wait_timeout=wait_timeout)
    with g.locked("up"):
        plan, outcome = app.up(project, engine, options, run, on_event, wait=wait)
        after_up(g, project, services, plan, outcome, progress, rollback_on_failure)
    _finish(g, plan, outcome, progress, "up")
    if not no_start:  # nothing runs to attach to
        attach.follow(g, project, engine, options)  # attached (no -d): stream until exit


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
    if g.target == "swarm":
        return cmd_swarm.plan(**locals())
    from stackup.app import containers as app
    from stackup.core.render import plan_json, plan_text

    if revision is None:
        project = g.load(services).project
    else:
        project = load_revision_project(g, revision)
    options = _up_options(project, services, scale, force_recreate, no_recreate,
                          remove_orphans or revision is not None, timeout, build, pull)
    if out is None:  # fingerprints and the saved form only for `--out`
        plan, saved = app.plan_up(project, g.engine(), options), ""
    else:
        plan, saved = app.save_plan(project, g.engine(), options)
    if out == "-":
        click.echo(saved, nl=False)
    else:
        if out is not None:
            _write(out, saved)
        if fmt == "json":
            import json

            click.echo(json.dumps(plan_json(plan), indent=2, sort_keys=False))
        else:
            click.echo(plan_text(plan, diff=diff), nl=False)
    if exit_code and not plan.empty:
        sys.exit(2)


def _write(path: str, text: str) -> None:
    import os

    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise ProjectError(f"cannot write the plan to {path}: {exc.strerror}") from exc


@click.command("apply")
@click.argument("plan_file", metavar="FILE")
@click.option("--wait-timeout", type=float, default=None,
              help="Seconds a wait may take (default: no limit).")
@pass_globals
def apply_cmd(g: Globals, plan_file: str, wait_timeout: float | None) -> None:
    """Run a plan saved by `plan --out FILE` exactly, or nothing if anything moved (exit 3)."""
    if g.target == "swarm":
        return cmd_swarm.apply(**locals())
    from stackup.app import containers as app
    from stackup.cli.views.progress import Progress

    if plan_file == "-":
        text = sys.stdin.read()
    else:
        try:
            with open(plan_file, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise ProjectError(f"cannot read plan file {plan_file}: {exc.strerror}") from exc
    project = g.load().project
    engine = g.engine()
    progress = Progress(g.progress)
    run = app.RunOptions(parallel=g.parallel, wait_timeout=wait_timeout)
    source = "stdin" if plan_file == "-" else plan_file
    with g.locked("apply"):  # checked under the lock: nobody moves things in between
        digest, applied = app.applied_revision(text, source, project.name, engine)
        if applied is not None:
            if g.progress == "json":
                import json

                click.echo(json.dumps({"summary": True, "ok": True, "done": 0,
                                       "already_applied": applied}), err=True)
            else:
                click.echo(f"{source}: already applied (revision {applied}); nothing was "
                           f"changed", err=True)
            return
        plan = app.check_saved_plan(text, source, project, engine)
        outcome = app.run_plan(plan, project, engine, run, progress.on_event)
        record_revision(g, project, (), plan, outcome, command="apply", plan_digest=digest)
    _finish(g, plan, outcome, progress, "apply")


def _load_or_name(g: Globals) -> tuple[Project | None, str]:
    """down works without a stack file when the project name is given (-p)."""
    try:
        project = g.load().project
    except ProjectError:
        if g.project_name:
            return None, g.project_name
        raise
    return project, project.name


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
    if g.target == "swarm":
        return cmd_swarm.down(**locals())
    from stackup.app import containers as app
    from stackup.cli.views.progress import Progress
    from stackup.cli.rmi import images_of, remove_images

    check_orphan_flags(remove_orphans)
    project, name = _load_or_name(g)
    images = images_of(project, g.engine().observe(name), rmi) if rmi else []
    progress = Progress(g.progress)
    with g.locked("down", name):
        plan, outcome = app.down(project, name, g.engine(), remove_volumes=volumes,
                                 remove_orphans=remove_orphans, timeout=timeout,
                                 run=app.RunOptions(parallel=g.parallel),
                                 on_event=progress.on_event,
                                 ignore_orphans=compose_ignore_orphans())
        # -v: the history goes too (its records are volumes without the project's label)
        found, left = app.remove_revision_records(name, g.engine()) \
            if volumes and outcome.ok else (0, 0)
    _finish(g, plan, outcome, progress, "down")
    removed = found if g.dry_run else found - left  # a dry run lists them all still
    if removed and g.progress not in ("quiet", "json"):
        click.echo(f"{'Would remove' if g.dry_run else 'Removed'} {removed} revision "
                   f"record{'' if removed == 1 else 's'} of {name}.", err=True)
    if left and not g.dry_run:
        click.echo(f"warning: {left} revision record{'' if left == 1 else 's'} of {name} "
                   "could not be removed: `stackup history --purge` tries again", err=True)
    remove_images(g.engine(), images, quiet=g.progress == "quiet")


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
    from stackup.cli.target import load_or_name

    project, name = load_or_name(g, services)
    progress = Progress(g.progress)
    with g.locked(verb, name):
        plan, outcome = app.lifecycle(verb, project, g.engine(), services=services,
                                      timeout=timeout, run=app.RunOptions(parallel=g.parallel),
                                      on_event=progress.on_event, project_name=name, **options)
    _finish(g, plan, outcome, progress, verb)


start_cmd = _simple("start", "Start the project's existing, stopped containers.")
stop_cmd = _simple("stop", "Stop the project's containers without removing them.")
restart_cmd = _simple("restart", "Restart the project's containers.")


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
