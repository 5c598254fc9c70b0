"""What the commands that plan share, on both deploy targets: the flags of ``up``/``plan``/
``create``, their checks, turning them into ``UpOptions``, and ending a run (summary, exit 1
on failure).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from stackup.cli import complete
from stackup.cli.context import Globals
from stackup.core.errors import ProjectError

if TYPE_CHECKING:
    from stackup.cli.views.progress import Progress
    from stackup.core.model import Project
    from stackup.core.plan import Plan
    from stackup.reconcile import UpOptions
    from stackup.run.events import Event, Outcome

F = TypeVar("F", bound=Callable[..., Any])


def parse_scale(values: tuple[str, ...]) -> dict[str, int]:
    scale: dict[str, int] = {}
    for value in values:
        name, sep, number = value.partition("=")
        if not sep or not number.isdigit() or not name:
            raise click.BadParameter(f"expected SERVICE=N, found {value!r}", param_hint="--scale")
        scale[name] = int(number)
    return scale


def up_options(project: Project, services: tuple[str, ...], scale: tuple[str, ...],
                force_recreate: bool, no_recreate: bool, remove_orphans: bool,
                timeout: float | None, build: bool = False,
                pull: str | None = None, **more: bool) -> UpOptions:
    from stackup.app.containers import check_services
    from stackup.core.model import FrozenMap
    from stackup.reconcile import UpOptions

    if force_recreate and no_recreate:
        raise click.UsageError("--force-recreate and --no-recreate cannot be used together")
    scales = parse_scale(scale)
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


def finish(g: Globals, plan: Plan, outcome: Outcome, progress: Progress, verb: str) -> None:
    progress.summary(plan, outcome, verb=verb)
    g.show_tracebacks(outcome.failed)
    if not outcome.ok:
        sys.exit(1)


def without_pull_output(sink: Callable[[Event], None]) -> Callable[[Event], None]:
    """--quiet-pull: the pull operations still show, their progress lines do not."""
    def quiet(event: Event) -> None:
        if event.phase == "output" and event.kind.value == "pull_image":
            return
        sink(event)

    return quiet


def write_plan(path: str, text: str) -> None:
    import os

    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise ProjectError(f"cannot write the plan to {path}: {exc.strerror}") from exc




def show_plan(plan: Plan, fmt: str, *, diff: bool = False, exit_code: bool = False) -> None:
    """``plan``'s output on both targets: the text (``--diff``: each changed field) or the JSON,
    then exit 2 with ``--exit-code`` when something would change."""
    from stackup.core.render import plan_json, plan_text

    if fmt == "json":
        import json

        click.echo(json.dumps(plan_json(plan), indent=2, sort_keys=False))
    else:
        click.echo(plan_text(plan, diff=diff), nl=False)
    if exit_code and not plan.empty:
        sys.exit(2)


def read_plan_file(path: str) -> str:
    """``apply FILE``'s input on both targets: the saved plan's text (``-``: stdin)."""
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise ProjectError(f"cannot read plan file {path}: {exc.strerror}") from exc
