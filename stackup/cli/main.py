"""The ``stackup`` command: the root group and its global options, error handling, exit codes.

Pipeline position: the outermost layer. Only ``stackup.cli`` prints, reads the process
environment for the loader, and sets exit codes. Each subcommand is a plain ``click.command`` in
a sibling module, listed in ``COMMANDS`` and imported only when it is used (click's lazy-group
pattern), so a command's start-up pays for its own imports only. What the commands share is in
``cli.context``; each one that changes the engine runs inside ``with g.locked("<verb>"):``
(``app.locking``).
Exit codes: 0 success, 1 error (bad input, engine failure, failed operations, a lock held by
another run, and any bug: ``error: internal error: ...``, the traceback with ``--debug``), 2
``plan --exit-code`` with changes, 64 usage error (EX_USAGE: unknown option, bad argument), 130
interrupted.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from stackup.cli.context import Globals
from stackup.cli.entry import caused_by_interrupt
from stackup.core.errors import StackupError, StalePlan

EX_USAGE = 64  # sysexits.h: the command was used incorrectly
EX_STALE_PLAN = 3  # `apply FILE`: the plan is stale, nothing was changed

UNLIMITED_PARALLEL = 256  # --parallel -1: the engine client's own bounds are the limit


def _parallel(ctx: click.Context, param: click.Parameter, value: int) -> int:
    if value == -1:
        return UNLIMITED_PARALLEL
    if not 1 <= value <= 256:
        raise click.BadParameter(f"{value} is not -1 or in the range 1-256")
    return value


def _ansi(ctx: click.Context, param: click.Parameter, value: str) -> None:
    """--ansi / COMPOSE_ANSI: one setting the progress display and log colours read."""
    os.environ["COMPOSE_ANSI"] = value


def _all_resources(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """--all-resources: ``up``/``create``/``plan`` also plan the unused networks and volumes."""
    ctx.ensure_object(Globals).all_resources = value


# Every command: its name → "module:attribute" of its ``click.Command``, imported when the
# command runs (``--help`` and completion of command names import them all).
COMMANDS = {
    "agent": "stackup.cli.commands.agent:agent_cmd",
    "apply": "stackup.cli.commands.apply:apply_cmd",
    "attach": "stackup.cli.commands.attach:attach_cmd",
    "build": "stackup.cli.commands.build:build_cmd",
    "completion": "stackup.cli.commands.completion:completion_cmd",
    "commit": "stackup.cli.commands.commit:commit_cmd",
    "config": "stackup.cli.commands.config:config_cmd",
    "cp": "stackup.cli.commands.cp:cp_cmd",
    "create": "stackup.cli.commands.create:create_cmd",
    "docker-plugin": "stackup.cli.commands.docker_plugin:docker_plugin_cmd",
    "down": "stackup.cli.commands.down:down_cmd",
    "drift": "stackup.cli.commands.drift:drift_cmd",
    "events": "stackup.cli.commands.events:events_cmd",
    "exec": "stackup.cli.commands.exec:exec_cmd",
    "export": "stackup.cli.commands.export:export_cmd",
    "history": "stackup.cli.commands.history:history_cmd",
    "images": "stackup.cli.commands.images:images_cmd",
    "kill": "stackup.cli.commands.kill:kill_cmd",
    "logs": "stackup.cli.commands.logs:logs_cmd",
    "ls": "stackup.cli.commands.ls:ls_cmd",
    "pause": "stackup.cli.commands.pause:pause_cmd",
    "plan": "stackup.cli.commands.plan:plan_cmd",
    "port": "stackup.cli.commands.port:port_cmd",
    "ps": "stackup.cli.commands.ps:ps_cmd",
    "pull": "stackup.cli.commands.pull:pull_cmd",
    "push": "stackup.cli.commands.push:push_cmd",
    "restart": "stackup.cli.commands.restart:restart_cmd",
    "rm": "stackup.cli.commands.rm:rm_cmd",
    "rollback": "stackup.cli.commands.rollback:rollback_cmd",
    "run": "stackup.cli.commands.run:run_cmd",
    "scale": "stackup.cli.commands.scale:scale_cmd",
    "schema": "stackup.cli.commands.schema:schema_cmd",
    "start": "stackup.cli.commands.start:start_cmd",
    "stats": "stackup.cli.commands.stats:stats_cmd",
    "stop": "stackup.cli.commands.stop:stop_cmd",
    "top": "stackup.cli.commands.top:top_cmd",
    "unlock": "stackup.cli.commands.unlock:unlock_cmd",
    "unpause": "stackup.cli.commands.unpause:unpause_cmd",
    "up": "stackup.cli.commands.up:up_cmd",
    "version": "stackup.cli.commands.version:version_cmd",
    "volumes": "stackup.cli.commands.volumes:volumes_cmd",
    "wait": "stackup.cli.commands.wait:wait_cmd",
    "watch": "stackup.cli.commands.watch:watch_cmd",
}


class LazyGroup(click.Group):
    """A group whose commands are ``"module:attribute"`` strings, imported when looked up
    (click's documented "Lazily Loading Subcommands" pattern)."""

    def __init__(self, *args: Any, lazy_commands: dict[str, str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands or {}

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from stackup.cli.help import format_commands

        format_commands(self, ctx, formatter)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.lazy_commands.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(cls=LazyGroup, lazy_commands=COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"]},
             epilog="Run 'stackup COMMAND --help' for more on a command.")
@click.option("-f", "--file", "files", multiple=True, metavar="FILE",
              help="Stack file (repeatable; '-' reads stdin). Default: compose.yaml and its override.")
@click.option("-p", "--project-name", help="Project name (default: COMPOSE_PROJECT_NAME, name:, folder).")
@click.option("--project-directory", type=click.Path(file_okay=False),
              help="Folder relative paths resolve against (default: the first file's folder).")
@click.option("--env-file", "env_files", multiple=True, metavar="FILE",
              help="Interpolation variables file (repeatable; replaces .env).")
@click.option("--profile", "profiles", multiple=True, help="Enable a profile (repeatable).")
@click.option("--parallel", type=int, default=16, show_default=True, callback=_parallel,
              envvar="COMPOSE_PARALLEL_LIMIT",
              help="Engine calls in flight at once, 1-256, -1: no limit of stackup's own (stops: "
                   "4x, at least 64). Env: COMPOSE_PARALLEL_LIMIT.")
@click.option("--progress", type=click.Choice(["auto", "tty", "plain", "json", "quiet"]),
              default="auto", show_default=True, envvar="COMPOSE_PROGRESS",
              help="How to show progress on stderr. Env: COMPOSE_PROGRESS.")
@click.option("--ansi", type=click.Choice(["never", "always", "auto"]), default="auto",
              show_default=True, envvar="COMPOSE_ANSI", expose_value=False, callback=_ansi,
              help="Control characters and colours: never, always, or on a terminal. "
                   "Env: COMPOSE_ANSI.")
@click.option("--lock-timeout", type=click.FloatRange(min=0), default=300.0, show_default=True,
              envvar="STACKUP_LOCK_TIMEOUT", metavar="SECONDS",
              help="How long a command that changes the project waits for another run's lock "
                   "(0: fail at once). Env: STACKUP_LOCK_TIMEOUT.")
@click.option("--debug", is_flag=True, envvar="STACKUP_DEBUG",
              help="Print the traceback of errors (for bug reports). Env: STACKUP_DEBUG=1.")
@click.option("--dry-run", is_flag=True,
              help="Show what the command would do (its plan, walked as if run); change nothing.")
@click.option("--target", type=click.Choice(["engine", "swarm"]), default="engine",
              envvar="STACKUP_TARGET", show_default=True,
              help="Deploy to one engine's containers or to a Docker Swarm's services. "
                   "Env: STACKUP_TARGET.")
@click.option("--all-resources", is_flag=True, expose_value=False, callback=_all_resources,
              help="Create the networks and volumes no service uses too (as Compose's flag).")
@click.version_option(None, "-v", "--version", package_name="stackup")
@click.pass_context
def cli(ctx: click.Context, files: tuple[str, ...], project_name: str | None,
        project_directory: str | None, env_files: tuple[str, ...], profiles: tuple[str, ...],
        parallel: int, progress: str, lock_timeout: float, debug: bool, dry_run: bool,
        target: str) -> None:
    """Bring Compose stacks up, keep them converged, tear them down."""
    g = ctx.ensure_object(Globals)
    g.files, g.project_name, g.project_directory = files, project_name, project_directory
    g.env_files, g.profiles, g.parallel, g.progress = env_files, profiles, parallel, progress
    g.lock_timeout, g.debug = lock_timeout, debug or g.debug
    g.target, g.dry_run = target, dry_run
    g.deploy_target().check_command(g, ctx.invoked_subcommand)


def _env_debug() -> bool:
    return os.environ.get("STACKUP_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


def _fail(g: Globals, message: str, hint: str = "", code: int = 1) -> None:
    """One readable message on stderr, after the traceback when debugging; exit ``code``."""
    if g.debug:
        import traceback

        traceback.print_exc(file=sys.stderr)
        _print_cause(sys.exc_info()[1])
    click.echo(message, err=True)
    if hint and not g.debug:
        click.echo(hint, err=True)
    sys.exit(code)


def _print_cause(error: BaseException | None) -> None:
    """The traceback an ``InternalError`` keeps in ``cause`` when it was not raised from it."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, BaseException) and error is not None and cause is not error.__cause__:
        import traceback

        traceback.print_exception(type(cause), cause, cause.__traceback__, file=sys.stderr)


# global options that take a value (to find the command's name in a command line)
_VALUED = frozenset({"-f", "--file", "-p", "--project-name", "--project-directory", "--env-file",
                     "--profile", "--parallel", "--progress", "--ansi", "--lock-timeout",
                     "--target"})


def _interrupted(g: Globals, stop: BaseException, argv: list[str]) -> int:
    """Ctrl-C or SIGTERM: say so and, when a plan was running (``app.containers.Interrupted``), what is
    left and the command that converges it; the exit code is 128 + the signal's number."""
    import signal

    if isinstance(stop, click.exceptions.Abort) and stop.__cause__ is not None:
        stop = stop.__cause__  # click turns a KeyboardInterrupt into Abort "from" it
    plan, outcome = getattr(stop, "plan", None), getattr(stop, "outcome", None)
    lines = ["interrupted"]
    code = 130
    if plan is not None and outcome is not None:
        from stackup.cli.views.progress import interrupted_report

        containers = None
        if g._engine is not None:
            try:
                containers = g._engine.observe(plan.project_name).containers
            except Exception:  # noqa: BLE001 - the report says less, the exit stays 130
                containers = None
        lines = interrupted_report(plan, outcome, containers, _rerun(argv))
        if outcome.stopped_by == "SIGTERM":
            code = 128 + signal.SIGTERM
        if g.progress == "json":  # one object, as the other summaries
            import json

            from stackup.run.events import rfc3339

            lines = [json.dumps({"summary": True, "time": rfc3339(), "ok": False,
                                 "interrupted": outcome.stopped_by,
                                 "abandoned": outcome.abandoned, "done": len(outcome.done),
                                 "not_run": len(outcome.not_run), "message": lines},
                                sort_keys=True)]
    for line in lines:
        try:
            click.echo(line, err=True)
        except (OSError, ValueError):  # nobody reads stderr any more
            break
    return code


def _rerun(argv: list[str]) -> str:
    """The command that converges after an interrupted run: the same command line, except
    that `apply FILE` (stale once it ran in part) becomes `up -d`."""
    import shlex

    position, skip = len(argv), False
    for index, arg in enumerate(argv):
        if skip:
            skip = False
        elif arg in _VALUED:
            skip = True
        elif not arg.startswith("-"):
            position = index
            break
    if argv[position:position + 1] == ["apply"]:
        argv = [*argv[:position], "up", "-d"]
    return shlex.join(["stackup", *argv])


def main(argv: list[str] | None = None) -> None:
    g = Globals(debug=_env_debug())
    try:
        cli.main(args=argv, prog_name="stackup", standalone_mode=False, obj=g)
    except StalePlan as error:  # `apply FILE`: nothing was changed
        _fail(g, f"error: {error}", code=EX_STALE_PLAN)
    except StackupError as error:
        _fail(g, f"error: {error}")
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.NoSuchOption as usage:
        from stackup.cli.help import misplaced_global

        usage.show()
        hint = misplaced_global(usage, cli, sys.argv[1:] if argv is None else argv)
        if hint:
            click.echo(f"hint: {hint}", err=True)
        sys.exit(EX_USAGE)
    except click.UsageError as usage:
        usage.show()
        sys.exit(EX_USAGE)
    except click.ClickException as problem:
        problem.show()
        sys.exit(1)
    except (click.exceptions.Abort, KeyboardInterrupt) as stop:
        sys.exit(_interrupted(g, stop, sys.argv[1:] if argv is None else argv))
    except BrokenPipeError:
        # stdout's reader went away (`stackup logs | head`): nothing more to say to it
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        sys.exit(0)
    except Exception as bug:  # noqa: BLE001 - the one place a bug becomes a message
        if caused_by_interrupt(bug):
            click.echo("interrupted", err=True)
            sys.exit(130)
        text = f": {bug}" if str(bug) else ""
        _fail(g, f"error: internal error: {type(bug).__name__}{text}",
              "This is a bug in stackup: run again with --debug (or STACKUP_DEBUG=1) to see "
              "the traceback, and report it.")
    if g.dry_run and g._engine is not None:
        click.echo("dry run: nothing was changed on the engine", err=True)
    sys.exit(0)


def run() -> None:
    """The ``stackup`` command: :func:`main`, then a normal exit with its code.

    Output still buffered is flushed here, so that a reader gone away (``stackup ps | head -1``)
    ends the command quietly instead of as an error at the interpreter's exit; from then on
    Ctrl-C is ignored: the command's outcome is decided, and an interrupt during the teardown
    could only turn it into a traceback."""
    try:
        main()
    finally:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # the reader went away: the rest goes nowhere
                try:
                    os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
                except (OSError, ValueError):
                    pass


if __name__ == "__main__":
    run()
