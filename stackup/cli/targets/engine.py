"""``--target engine`` (the default): the target-dependent commands on one engine's containers.

Pipeline position: CLI over ``stackup.app.containers`` (the use cases: load → observe →
reconcile → execute); each function is the command of the same name (``cli/commands/*.py`` parse
the flags), printing and exiting as the command does. ``plan`` renders exactly the plan ``up``
would run. See ``targets`` for the seam.
"""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING

import click

from stackup.cli.attach import AttachOptions
from stackup.cli.revision_records import after_up, load_revision_project, record_revision
from stackup.cli.naming import container_label, project_name_of
from stackup.cli.commands.ps import HEADERS, record, statuses
from stackup.cli.context import Globals
from stackup.cli.plan_options import (
    check_orphan_flags,
    compose_ignore_orphans,
    finish,
    up_options,
    without_pull_output,
    show_plan,
    write_plan,
)
from stackup.cli.selection import load_or_name, table
from stackup.cli.views.formatting import render_template
from stackup.core.errors import NotFound, ProjectError

if TYPE_CHECKING:
    from stackup.core.model import Project
    from stackup.core.observed import ObservedContainer


def check_command(g: Globals, command: str | None) -> None:
    """Every command works on one engine."""


def check_config(g: Globals, services: tuple[str, ...]) -> None:
    """Nothing to refuse: ``config`` prints the model as loaded."""


def up(g: Globals, attach: AttachOptions, services: tuple[str, ...],
           force_recreate: bool, no_recreate: bool,
           scale: tuple[str, ...], remove_orphans: bool, timeout: float | None, build: bool,
           pull: str | None, detach: bool, wait: bool, wait_timeout: float | None,
           no_deps: bool, no_build: bool, no_start: bool, renew_anon_volumes: bool,
           always_recreate_deps: bool, quiet_pull: bool, quiet_build: bool, yes: bool,
           rollback_on_failure: bool) -> None:
    """Create and start the stack's containers, changing only what differs (``yes``: stackup
    never asks)."""
    from stackup.app import containers as app
    from stackup.cli.views.progress import Progress

    check_orphan_flags(remove_orphans)
    loaded = g.load(services)
    project = loaded.project
    if no_build and build:
        raise click.UsageError("--build and --no-build cannot be used together")
    options = up_options(project, services, scale, force_recreate, no_recreate,
                          remove_orphans, timeout, build, pull, no_deps=no_deps,
                          no_build=no_build, no_start=no_start,
                          renew_anon_volumes=renew_anon_volumes,
                          always_recreate_deps=always_recreate_deps,
                          all_resources=g.all_resources)
    engine = g.engine()
    progress = Progress(g.progress)
    on_event = progress.on_event if not quiet_pull else without_pull_output(progress.on_event)
    if quiet_build:
        from stackup.cli.signals import quiet_output

        on_event = quiet_output(on_event, ("build_image",))
    run = app.RunOptions(parallel=g.parallel, wait_timeout=wait_timeout)
    with g.locked("up"):
        plan, outcome = app.up(project, engine, options, run, on_event, wait=wait,
                               tree=loaded.tree)
        after_up(g, project, services, plan, outcome, progress, rollback_on_failure)
    finish(g, plan, outcome, progress, "up")
    if not no_start:  # nothing runs to attach to
        attach.follow(g, project, engine, options)  # attached (no -d): stream until exit


def plan(g: Globals, services: tuple[str, ...], force_recreate: bool, no_recreate: bool,
             scale: tuple[str, ...], remove_orphans: bool, timeout: float | None, build: bool,
             pull: str | None, fmt: str, exit_code: bool, diff: bool, out: str | None,
             revision: int | None) -> None:
    """Show what `up` would change: every operation, its cause and what it waits for."""
    from stackup.app import containers as app
    from stackup.app import saved_plans

    if revision is None:
        project = g.load(services).project
    else:
        project = load_revision_project(g, revision)
    options = up_options(project, services, scale, force_recreate, no_recreate,
                          remove_orphans or revision is not None, timeout, build, pull,
                          all_resources=g.all_resources)
    if out is None:  # fingerprints and the saved form only for `--out`
        plan, saved = app.plan_up(project, g.engine(), options), ""
    else:
        plan, saved = saved_plans.save_plan(project, g.engine(), options)
    if out == "-":
        click.echo(saved, nl=False)
    else:
        if out is not None:
            write_plan(out, saved)
        show_plan(plan, fmt, diff=diff, exit_code=exit_code)


def apply(g: Globals, plan_file: str, wait_timeout: float | None) -> None:
    """Run a plan saved by `plan --out FILE` exactly, or nothing if anything moved (exit 3)."""
    from stackup.app import containers as app
    from stackup.app import saved_plans
    from stackup.cli.views.progress import Progress

    from stackup.cli.plan_options import read_plan_file

    text = read_plan_file(plan_file)
    loaded = g.load()
    project = loaded.project
    engine = g.engine()
    progress = Progress(g.progress)
    run = app.RunOptions(parallel=g.parallel, wait_timeout=wait_timeout)
    source = "stdin" if plan_file == "-" else plan_file
    with g.locked("apply"):  # checked under the lock: nobody moves things in between
        digest, applied = saved_plans.applied_revision(text, source, project.name, engine)
        if applied is not None:
            if g.progress == "json":
                import json

                from stackup.run.events import rfc3339

                click.echo(json.dumps({"summary": True, "time": rfc3339(), "ok": True,
                                       "done": 0, "already_applied": applied}), err=True)
            else:
                click.echo(f"{source}: already applied (revision {applied}); nothing was "
                           f"changed", err=True)
            return
        plan = saved_plans.check_saved_plan(text, source, project, engine, tree=loaded.tree)
        outcome = app.run_plan(plan, project, engine, run, progress.on_event, tree=loaded.tree)
        record_revision(g, project, (), plan, outcome, command="apply", plan_digest=digest)
    finish(g, plan, outcome, progress, "apply")


def down(g: Globals, volumes: bool, remove_orphans: bool, timeout: float | None,
             rmi: str | None) -> None:
    """Stop and remove the project's containers and networks (and volumes with -v)."""
    from stackup.app import containers as app
    from stackup.app import revision_store
    from stackup.cli.views.progress import Progress
    from stackup.cli.rmi import images_of, remove_images

    check_orphan_flags(remove_orphans)
    project, name = load_or_name_for_down(g)
    seen = g.engine().observe(name) if rmi else None  # the images, before the containers go
    progress = Progress(g.progress)
    with g.locked("down", name):
        # -p NAME without -f: the labels say what NAME has, not the folder's file (as Compose)
        plan, outcome = app.down(project, name, g.engine(), remove_volumes=volumes,
                                 remove_orphans=remove_orphans, timeout=timeout,
                                 run=app.RunOptions(parallel=g.parallel),
                                 on_event=progress.on_event,
                                 ignore_orphans=compose_ignore_orphans(),
                                 named=bool(g.project_name) and not g.files)
        # -v: the history goes too (its records are volumes without the project's label)
        found, left = revision_store.remove_revision_records(name, g.engine()) \
            if volumes and outcome.ok else (0, 0)
    images = images_of(plan.project, seen, rmi) if rmi and seen is not None else []
    finish(g, plan, outcome, progress, "down")
    removed = found if g.dry_run else found - left  # a dry run lists them all still
    if removed and g.progress not in ("quiet", "json"):
        click.echo(f"{'Would remove' if g.dry_run else 'Removed'} {removed} revision "
                   f"record{'' if removed == 1 else 's'} of {name}.", err=True)
    if left and not g.dry_run:
        click.echo(f"warning: {left} revision record{'' if left == 1 else 's'} of {name} "
                   "could not be removed: `stackup history --purge` tries again", err=True)
    remove_images(g.engine(), images, quiet=g.progress == "quiet")


def ps(g: Globals, show_all: bool, filters: tuple[str, ...], status: tuple[str, ...],
           fmt: str, quiet: bool, only_services: bool, no_trunc: bool, orphans: bool,
           services: tuple[str, ...]) -> None:
    """List the project's containers (running ones unless -a or --status)."""
    wanted = statuses(filters, status)
    project, name = load_or_name(g, services)
    found = g.engine().list_containers(name, all_containers=show_all or bool(wanted))
    if services:
        found = [c for c in found if c.service in services]
    if wanted:
        found = [c for c in found if c.state in wanted]
    if not orphans and project is not None:
        known = set(project.services) | set(project.disabled_services)
        found = [c for c in found if c.service in known]
    found.sort(key=lambda c: c.name)
    if quiet:
        click.echo("".join(f"{c.container_id}\n" for c in found), nl=False)
        return
    if only_services:
        click.echo("".join(f"{s}\n" for s in sorted({c.service for c in found})), nl=False)
        return
    now = time.time()
    rows = [record(c, truncate=not no_trunc, now=now) for c in found]
    if fmt == "json":
        click.echo("".join(f"{json.dumps(r, ensure_ascii=False)}\n" for r in rows), nl=False)
    elif fmt == "table":
        columns = ["Name", "Image", "Command", "Service", "RunningFor", "Status", "Ports"]
        click.echo(table([HEADERS[k] for k in columns],
                         [[str(r[k]) for k in columns] for r in rows]), nl=False)
    else:
        click.echo(render_template(fmt, rows, HEADERS), nl=False)


def logs(g: Globals, follow: bool, tail: str, since: str | None, until: str | None,
             timestamps: bool, no_log_prefix: bool, no_color: bool, index: int | None,
             services: tuple[str, ...]) -> None:
    """Show the output of the project's containers, prefixed with the container's name."""
    import time

    from stackup.app.containers import containers
    from stackup.cli.views.logprint import LogPrinter, parse_time, split_lines, use_color

    if tail != "all" and not tail.isdigit():
        raise click.BadParameter("expected a number or 'all'", param_hint="--tail")
    lines = None if tail == "all" else int(tail)
    times: dict[str, float | None] = {}
    for flag, value in (("--since", since), ("--until", until)):
        try:
            times[flag] = None if value is None else parse_time(value, time.time())
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint=flag) from None
    engine = g.engine()
    found = [c for c in containers(project_name_of(g, services), engine, services=services)
             if not c.oneoff and (index is None or c.number == index)]
    if not found:
        return
    printer = LogPrinter([(container_label(c), c.service) for c in found], color=use_color(no_color),
                         prefix=not no_log_prefix)

    def pump(container: ObservedContainer) -> None:
        stream = engine.logs(container.container_id, follow=follow, tail=lines,
                             timestamps=timestamps, since=times["--since"],
                             until=times["--until"])
        for batch in split_lines(stream):
            printer.lines(container_label(container), batch)
        if follow:  # a cut connection ends the stream like a stop does: ask the engine which
            try:
                engine.inspect_container(container.container_id)
            except NotFound:
                pass  # removed meanwhile (`down`): a normal end

    if not follow:
        for container in found:
            pump(container)
        return
    errors: list[BaseException] = []  # from the pumps, raised here: one message, exit 1

    def follow_one(container: ObservedContainer) -> None:
        try:
            pump(container)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            errors.append(exc)

    # `logs -f`: one reader per container's stream; each ends with it, all on an error or exit
    threads = [threading.Thread(target=follow_one, args=(c,), daemon=True) for c in found]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive() and not errors:
            thread.join(0.2)
    if errors:
        raise errors[0]


def load_or_name_for_down(g: Globals) -> tuple[Project | None, str]:
    """down works without a stack file when the project name is given (-p)."""
    try:
        project = g.load().project
    except ProjectError:
        if g.project_name:
            return None, g.project_name
        raise
    return project, project.name


