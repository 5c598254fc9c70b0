"""Attached ``up``: after the plan ran, stream the attached services' output until their
containers exit; Ctrl-C stops the stack (a second Ctrl-C kills it), as Docker Compose does.

Pipeline position: the CLI, after ``app.up``. ``attach_options`` adds Compose's flags to the
``up`` command and hands it one ``AttachOptions`` whose ``follow`` runs after the plan. One
thread per attached container reads ``engine.logs(follow=True)`` from the moment ``up`` began
(so nothing a new container printed is lost, and an up-to-date one shows only new lines), then
``engine.wait_container`` gives its exit code; the main thread prints and decides.
``--abort-on-container-exit`` stops everything at the first exit (exit code: that container's),
``--abort-on-container-failure`` at the first non-zero one, ``--exit-code-from S`` implies the
former and returns the exit code of S. The session itself is ``cli.attach_session`` (imported
only when ``up`` stays attached).
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click


if TYPE_CHECKING:
    from stackup.cli.context import Globals
    from stackup.ports.engine import Engine
    from stackup.core.model import Project
    from stackup.reconcile import UpOptions

_FLAGS = ("abort_on_container_exit", "abort_on_container_failure", "exit_code_from",
          "attach", "no_attach", "attach_dependencies", "timestamps", "no_log_prefix",
          "no_color")


@dataclass(slots=True)
class AttachOptions:
    detach: bool = True
    abort_on_exit: bool = False
    abort_on_failure: bool = False
    exit_code_from: str | None = None
    attach: tuple[str, ...] = ()
    no_attach: tuple[str, ...] = ()
    attach_dependencies: bool = False
    timestamps: bool = False
    no_log_prefix: bool = False
    no_color: bool = False
    started: float = field(default_factory=time.time)  # before the plan ran

    def check(self, project: Project) -> None:
        """Every service named in the flags exists (before anything runs)."""
        from stackup.app.containers import check_services

        named = [*self.attach, *self.no_attach]
        check_services(project, [*named, *([self.exit_code_from] if self.exit_code_from
                                           else [])])

    def follow(self, g: Globals, project: Project, engine: Engine, options: UpOptions) -> None:
        """Attach after the plan ran; exits with Compose's exit code when it is not 0."""
        if self.detach:
            return
        from stackup.cli.attach_session import Session

        code = Session(self, g, project, engine, options).run()
        if code:
            sys.exit(code)


def attach_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add Compose's attach flags to ``up`` and pass them as one ``attach`` argument."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from stackup.cli.context import Globals

        g = click.get_current_context().find_object(Globals)
        if g is None:  # as click's pass decorator says it
            raise RuntimeError("attach_options used outside the stackup command group")
        flags = {name: kwargs.pop(name) for name in _FLAGS}
        opts = _validated(flags, detach=kwargs.get("detach", False),
                          wait=kwargs.get("wait", False))
        previous, g.check_loaded = g.check_loaded, opts.check  # names checked before the plan
        try:
            return func(*args, attach=opts, **kwargs)
        finally:
            g.check_loaded = previous

    for option in reversed([
        click.option("--abort-on-container-exit", is_flag=True,
                     help="Stop all containers when any container exits (not with -d)."),
        click.option("--abort-on-container-failure", is_flag=True,
                     help="Stop all containers when any container exits with a failure."),
        click.option("--exit-code-from", metavar="SERVICE",
                     help="Return the exit code of SERVICE's container "
                          "(implies --abort-on-container-exit)."),
        click.option("--attach", multiple=True, metavar="SERVICE",
                     help="Show only these services' output (repeatable)."),
        click.option("--no-attach", multiple=True, metavar="SERVICE",
                     help="Do not show this service's output (repeatable)."),
        click.option("--attach-dependencies", is_flag=True,
                     help="Also show the output of the named services' dependencies."),
        click.option("--timestamps", is_flag=True, help="Show timestamps in the output."),
        click.option("--no-log-prefix", is_flag=True, help="Do not prefix output lines."),
        click.option("--no-color", is_flag=True, help="Monochrome output."),
    ]):
        wrapper = option(wrapper)
    return wrapper


def _validated(flags: dict[str, Any], *, detach: bool, wait: bool) -> AttachOptions:
    """Compose's rules for combining the flags (a usage error otherwise)."""
    exit_on = bool(flags["abort_on_container_exit"])
    fail_on = bool(flags["abort_on_container_failure"])
    if flags["exit_code_from"] and not fail_on:
        exit_on = True
    if exit_on and fail_on:
        raise click.UsageError("--abort-on-container-failure cannot be combined with "
                               "--abort-on-container-exit")
    if flags["attach"] and flags["attach_dependencies"]:
        raise click.UsageError("--attach cannot be combined with --attach-dependencies")
    if wait:
        if flags["attach_dependencies"] or exit_on or fail_on or flags["attach"]:
            raise click.UsageError("--wait cannot be combined with --abort-on-container-exit, "
                                   "--abort-on-container-failure, --exit-code-from, --attach "
                                   "or --attach-dependencies")
        detach = True  # --wait implies detached mode, as in Compose
    if detach and (flags["attach_dependencies"] or exit_on or fail_on or flags["attach"]):
        raise click.UsageError("-d cannot be combined with --abort-on-container-exit, "
                               "--abort-on-container-failure, --exit-code-from, --attach or "
                               "--attach-dependencies")
    return AttachOptions(
        detach=detach, abort_on_exit=exit_on, abort_on_failure=fail_on,
        exit_code_from=flags["exit_code_from"], attach=tuple(flags["attach"]),
        no_attach=tuple(flags["no_attach"]), attach_dependencies=flags["attach_dependencies"],
        timestamps=flags["timestamps"], no_log_prefix=flags["no_log_prefix"],
        no_color=flags["no_color"])
