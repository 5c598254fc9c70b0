"""``build``, ``pull``, ``push``, ``images``: the stack's images.

Pipeline position: CLI over ``stackup.app.containers``. ``build``/``pull``/``push`` run a plan of image
operations (from ``reconcile.images``) through the executor, in parallel, with progress on
stderr; ``images`` prints which image each container runs, on stdout.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
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


def _run(g: Globals, verb: str, services: tuple[str, ...], *, quiet: bool = False,
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


def _finish(g: Globals, verb: str, plan: Plan, outcome: Outcome | None, progress: Progress,
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


@click.command("build")
@click.option("--no-cache", is_flag=True, help="Do not use the build cache.")
@click.option("--pull", is_flag=True, help="Always try to pull newer base images.")
@click.option("--build-arg", "build_args", multiple=True, metavar="KEY[=VALUE]",
              help="A build argument for every service built (repeatable; KEY alone: from the "
                   "environment).")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.option("--push", is_flag=True, help="Push the built images afterwards.")
@click.option("--with-dependencies", is_flag=True,
              help="Also build the services the named ones depend on.")
@click.option("--ssh", metavar="default|ID=PATH",
              help="SSH agent socket or keys for the builds (as build.ssh).")
@click.option("--provenance", metavar="SPEC", help="Provenance attestation (as build.provenance).")
@click.option("--sbom", metavar="SPEC", help="SBOM attestation (as build.sbom).")
@click.option("--progress", "progress_mode",
              type=click.Choice(["auto", "tty", "plain", "json", "quiet"]),
              help="How to show the build's progress (the global --progress, for this build).")
@click.option("--print", "print_only", is_flag=True,
              help="Print the builds as a bake definition (JSON); build nothing.")
@click.option("-m", "--memory", metavar="BYTES",
              help="Accepted for Compose, which says: not supported by BuildKit.")
@click.option("--builder", metavar="NAME",
              help="Build with this docker buildx builder (needs the buildx plugin).")
@click.option("--check", is_flag=True,
              help="Refused: stackup does not run BuildKit's build checks.")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def build_cmd(g: Globals, no_cache: bool, pull: bool, build_args: tuple[str, ...], quiet: bool,
              push: bool, with_dependencies: bool, ssh: str | None, provenance: str | None,
              sbom: str | None, progress_mode: str | None, print_only: bool,
              memory: str | None, builder: str | None, check: bool,
              services: tuple[str, ...]) -> None:
    """Build the images of services that have a build section."""
    if builder:  # a buildx builder: only `docker buildx` knows them (it reads BUILDX_BUILDER)
        os.environ["BUILDX_BUILDER"] = builder
        os.environ["STACKUP_BUILDER"] = "buildx"  # without the plugin: an error saying so
    if check:
        raise click.UsageError("--check is not implemented by stackup: run `docker buildx "
                               "build --check` on the build context")
    options = {"ssh": (ssh,) if ssh else None, "provenance": provenance, "sbom": sbom}
    plan, outcome, progress = _run(g, "build", services, no_cache=no_cache, pull=pull,
                                   quiet=quiet, include_deps=with_dependencies,
                                   build_args=build_args, build_options=options,
                                   progress_mode=progress_mode, print_only=print_only)
    _finish(g, "build", plan, outcome, progress, quiet)
    if push and outcome is not None:
        built = tuple(sorted({op.service_name for op in plan.operations if op.service_name}))
        plan, outcome, progress = _run(g, "push", built, quiet=quiet)
        _finish(g, "push", plan, outcome, progress, quiet)


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
    plan, outcome, progress = _run(g, "pull", services, quiet=quiet, include_deps=include_deps,
                                   missing_only=policy == "missing",
                                   ignore_buildable=ignore_buildable)
    if outcome is not None and ignore_pull_failures and not outcome.ok:
        _warn_failures(outcome)
        return
    _finish(g, "pull", plan, outcome, progress, quiet)


def _warn_failures(outcome: Outcome) -> None:
    for op, error in outcome.failed:
        who = f"service {op.service_name}: " if op.service_name else ""
        first, _, rest = str(error).partition("\n")
        click.echo(f"warning: {who}{first}" + (f"\n  {rest}" if rest else ""), err=True)


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
    plan, outcome, progress = _run(g, "push", services, quiet=quiet, include_deps=include_deps)
    if outcome is not None and ignore_push_failures and not outcome.ok:
        _warn_failures(outcome)
        return
    _finish(g, "push", plan, outcome, progress, quiet)


@click.command("images")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="Only image ids.")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def images_cmd(g: Globals, fmt: str, quiet: bool, services: tuple[str, ...]) -> None:
    """List the image each of the project's containers runs."""
    from stackup.app import containers as app

    project = g.load(services).project
    app.check_services(project, services)
    rows = app.images(project.name, g.engine(), services=services)
    if quiet:
        click.echo("".join(f"{i}\n" for i in dict.fromkeys(r.image_id for r in rows)), nl=False)
        return
    if fmt == "json":
        click.echo(json.dumps([{"container": r.container, "service": r.service,
                                "image": r.image_ref, "image_id": r.image_id, "size": r.size}
                               for r in rows], indent=2))
        return
    table = [["CONTAINER", "SERVICE", "IMAGE", "IMAGE ID", "SIZE"]]
    table += [[r.container, r.service, r.image_ref, short_id(r.image_id),
               human_size(r.size) if r.size is not None else "(removed)"] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


def short_id(image_id: str) -> str:
    """The 12 hex characters ``docker images`` shows."""
    return image_id.partition(":")[2][:12] if ":" in image_id else image_id[:12]


def human_size(size: int) -> str:
    """Decimal units with three significant digits, as the docker CLI prints sizes."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.3g}{unit}"
        value /= 1000
    return f"{size}B"
