"""What ``build``, ``pull`` and ``push`` share: the services an image command covers, the
build options from its flags, and running and reporting its plan."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from stackup.cli.context import Globals
from stackup.core.model import FrozenMap

if TYPE_CHECKING:
    from stackup.cli.views.progress import Progress
    from stackup.run.events import Outcome
    from stackup.core.model import Project
    from stackup.core.plan import Plan


def with_dependencies(project: Project, services: tuple[str, ...]) -> tuple[str, ...]:
    """``services`` and every service they depend on, transitively (--include-deps)."""
    from stackup.core.graph import dependencies

    return tuple(sorted(dependencies(project, services)))


def with_build_args(project: Project, values: tuple[str, ...]) -> Project:
    """``--build-arg KEY=VAL`` (or ``KEY``: from the environment) on every service's build."""
    args: dict[str, str | None] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not key:
            raise click.BadParameter(f"expected KEY=VALUE, found {value!r}",
                                     param_hint="--build-arg")
        args[key] = val if sep else os.environ.get(key)
    services = {name: dataclasses.replace(s, build=dataclasses.replace(
                    s.build, args=FrozenMap({**s.build.args, **args})))
                if s.build is not None else s for name, s in project.services.items()}
    return dataclasses.replace(project, services=FrozenMap(services))


def with_build_options(project: Project, **values: Any) -> Project:
    """``build --ssh/--provenance/--sbom``: the same value on every service's build (as the
    key in the file would be; the builder then applies it or says it cannot)."""
    given = {k: v for k, v in values.items() if v is not None}
    if not given:
        return project
    services = {name: dataclasses.replace(s, build=dataclasses.replace(s.build, **given))
                if s.build is not None else s for name, s in project.services.items()}
    return dataclasses.replace(project, services=FrozenMap(services))


def run_images(g: Globals, verb: str, services: tuple[str, ...], *, quiet: bool = False,
         no_cache: bool = False, pull: bool = False, include_deps: bool = False,
         build_args: tuple[str, ...] = (), missing_only: bool = False,
         ignore_buildable: bool = False, build_options: dict[str, Any] | None = None,
         progress_mode: str | None = None, print_only: bool = False,
         ) -> tuple[Plan, Outcome | None, Progress]:
    from stackup.app import containers as app
    from stackup.cli.views.progress import Progress

    project = g.load(services).project
    app.check_services(project, services)
    if build_args:
        project = with_build_args(project, build_args)
    project = with_build_options(project, **(build_options or {}))
    if include_deps and services:
        services = with_dependencies(project, services)
    plan = app.images_plan(verb, project, services, no_cache=no_cache, pull=pull)
    if ignore_buildable:  # pull --ignore-buildable: services with build: are built, not pulled
        plan = dataclasses.replace(plan, operations=tuple(
            op for op in plan.operations
            if op.service is None or op.service.build is None))
    if print_only:  # build --print: what would be built, as a bake-like definition
        click.echo(_bake_json(project, plan))
        return plan, None, Progress("quiet")
    if missing_only:  # pull --policy missing: only what the engine does not have
        engine = g.engine()
        plan = dataclasses.replace(plan, operations=tuple(
            op for op in plan.operations if op.image is None or engine.image_id(op.image) is None))
    progress = Progress("quiet" if quiet else progress_mode or g.progress)
    if not quiet:
        for note in plan.notes:
            click.echo(f"note: {note}", err=True)
    if not plan.operations:
        if not quiet:
            click.echo(f"No images to {verb}.", err=True)
        return plan, None, progress
    if verb == "push":  # reads the engine's images, changes nothing there: no lock
        outcome = app.run_plan(plan, project, g.engine(), app.RunOptions(parallel=g.parallel),
                               progress.on_event)
        return plan, outcome, progress
    with g.locked(verb):  # build and pull retag images the project's containers run
        outcome = app.run_plan(plan, project, g.engine(), app.RunOptions(parallel=g.parallel),
                               progress.on_event)
    return plan, outcome, progress


def finish_images(g: Globals, verb: str, plan: Plan, outcome: Outcome | None, progress: Progress,
            quiet: bool = False) -> None:
    if outcome is None or (quiet and outcome.ok):
        return
    progress.summary(plan, outcome, verb=verb)
    g.show_tracebacks(outcome.failed)
    if not outcome.ok:
        sys.exit(1)


def _bake_json(project: Project, plan: Plan) -> str:
    """``build --print``: each image the plan builds as a ``docker buildx bake`` target (the
    file format Compose prints), without building."""
    targets: dict[str, dict[str, Any]] = {}
    for op in plan.operations:
        service = op.service
        if service is None or service.build is None:
            continue
        b = service.build
        target: dict[str, Any] = {"context": b.context,
                                  "dockerfile": b.dockerfile or "Dockerfile"}
        if b.dockerfile_inline is not None:
            target["dockerfile-inline"] = b.dockerfile_inline
        if b.args:
            target["args"] = {k: v for k, v in b.args.items() if v is not None}
        if b.labels:
            target["labels"] = dict(b.labels)
        if b.target:
            target["target"] = b.target
        target["tags"] = [op.image or service.image_ref(project.name), *b.tags]
        if b.platforms:
            target["platforms"] = list(b.platforms)
        if b.ssh:
            target["ssh"] = list(b.ssh)
        if b.no_cache:
            target["no-cache"] = True
        if b.pull:
            target["pull"] = True
        targets[service.name] = target
    return json.dumps({"group": {"default": {"targets": sorted(targets)}},
                       "target": targets}, indent=2, sort_keys=True)


def warn_failures(outcome: Outcome) -> None:
    for op, error in outcome.failed:
        who = f"service {op.service_name}: " if op.service_name else ""
        first, _, rest = str(error).partition("\n")
        click.echo(f"warning: {who}{first}" + (f"\n  {rest}" if rest else ""), err=True)


