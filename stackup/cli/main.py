"""The ``stackup`` command: global options, the project lock, error handling, exit codes.

Pipeline position: the outermost layer. Only ``stackup.cli`` prints, reads the process
environment for the loader, and sets exit codes. Subcommands live in the sibling modules; each
one that changes the engine runs inside ``with g.locked("<verb>"):`` (``engine.locking``).
Exit codes: 0 success, 1 error (bad input, engine failure, failed operations, a lock held by
another run, and any bug: ``error: internal error: ...``, the traceback with ``--debug``), 2
``plan --exit-code`` with changes, 64 usage error (EX_USAGE: unknown option, bad argument), 130
interrupted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from stackup.errors import LockHeld, StackupError, StalePlan
from stackup.loader.discover import VALID_NAME as _VALID_NAME

if TYPE_CHECKING:
    from stackup.engine.base import Engine
    from stackup.engine.locking import ProjectLock
    from stackup.engine.lockspec import LockHolder
    from stackup.loader.loader import Loaded, LoadOptions
    from stackup.model import Project

EX_USAGE = 64  # sysexits.h: the command was used incorrectly
EX_STALE_PLAN = 3  # `apply FILE`: the plan is stale, nothing was changed


@dataclass(slots=True)
class Globals:
    files: tuple[str, ...] = ()
    project_name: str | None = None
    project_directory: str | None = None
    env_files: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    parallel: int = 16
    progress: str = "auto"
    lock_timeout: float = 300.0
    debug: bool = False
    target: str = "engine"  # --target: "engine" (one engine's containers) or "swarm"
    dry_run: bool = False  # --dry-run: plan and walk the plan, change nothing
    _engine: Any = field(default=None, repr=False)
    _early: Any = field(default=None, repr=False)  # cli.early.EarlyStart, until used or dropped
    _loaded_name: str | None = field(default=None, repr=False)
    _stdin: str | None = field(default=None, repr=False)  # `-f -`: read once, loaded as often
    # called with each project ``load`` loads (``up``'s attach flags name services to check)
    check_loaded: Callable[[Project], None] | None = field(default=None, repr=False)

    def load_options(self, services: tuple[str, ...] = (), **more: Any) -> LoadOptions:
        """The loader's options from the global options (``more``: e.g. interpolate=False)."""
        from stackup.loader.loader import LoadOptions

        if "-" in self.files and self._stdin is None:
            self._stdin = sys.stdin.read()
        stdin = self._stdin if "-" in self.files else None
        return LoadOptions(
            files=self.files, project_name=self.project_name,
            project_directory=self.project_directory, env_files=self.env_files,
            profiles=self.profiles, services=services, environ=dict(os.environ),
            stdin=stdin, cwd=os.getcwd(), **more)

    def load(self, services: tuple[str, ...] = (), **more: Any) -> Loaded:
        """Load the stack files the way the global options say; warnings go to stderr."""
        from stackup.loader.loader import load_project

        loaded = load_project(self.load_options(services, **more))
        for warning in loaded.warnings:
            click.echo(f"warning: {warning}", err=True)
        self._loaded_name = loaded.project.name
        if self.check_loaded is not None:
            self.check_loaded(loaded.project)
        return loaded

    def engine(self) -> Engine:
        if self._engine is None:
            from stackup.app import connect

            self._engine = connect()
            if self.dry_run:
                from stackup.engine.dry_run import DryRunEngine

                self._engine = DryRunEngine(self._engine)
        return self._engine

    def show_tracebacks(self, failed: Iterable[tuple[object, BaseException]]) -> None:
        """With ``--debug``: the traceback of each failed operation that was a bug in stackup
        (an ``InternalError`` keeping its ``cause``), after the summary."""
        if not self.debug:
            return
        for op, error in failed:
            cause = getattr(error, "cause", None)
            if isinstance(cause, BaseException):
                click.echo(f"traceback of {getattr(op, 'subject', op)}:", err=True)
                import traceback

                traceback.print_exception(type(cause), cause, cause.__traceback__,
                                          file=sys.stderr)

    def _new_lock(self, command: str, name: str) -> ProjectLock:
        from stackup.engine.locking import ProjectLock, lease_from

        def waiting(holder: LockHolder) -> None:
            click.echo(f"waiting for the lock of project {name}: held by {holder.describe()} "
                       f"(up to {self.lock_timeout:g} s, --lock-timeout)", err=True)

        def note(text: str) -> None:
            click.echo(f"note: {text}", err=True)

        def lost(text: str) -> None:
            click.echo(f"warning: {text}", err=True)

        return ProjectLock(self.engine().lock_store(),
                           name, f"stackup {command}", timeout=self.lock_timeout,
                           lease=lease_from(os.environ), on_wait=waiting, on_note=note,
                           on_lost=lost)

    @contextmanager
    def early(self, command: str | None = None) -> Iterator[None]:
        """While the block loads the stack file, take the lock of ``command`` (None: a command
        that only reads) and read the project's lists in a thread, when the project name is
        known beforehand (``cli.early``). After the block the thread has ended: the observe
        that follows uses its lists, and ``locked`` its lock (given back by ``drop_early`` if
        the command ends first). If the block fails, nothing of it is kept."""
        name = self.project_name or os.environ.get("COMPOSE_PROJECT_NAME")
        if self.target == "engine" and not self.dry_run and name and _VALID_NAME.match(name):
            from stackup.cli.early import EarlyStart

            self._early = EarlyStart(self.engine(), name, self._new_lock(command, name)
                                     if command is not None else None)
        try:
            yield
        except BaseException:
            self.drop_early()
            raise
        if self._early is not None:
            self._early.join()

    def drop_early(self) -> None:
        """Give back what ``early`` took and the command did not use."""
        early, self._early = self._early, None
        if early is not None:
            early.abandon()

    @contextmanager
    def locked(self, command: str, project_name: str | None = None) -> Iterator[None]:
        """Hold the project's lock on the engine (one writer per project) for the block.

        The project is ``project_name``, else the one ``load`` loaded, else ``-p``, else the
        stack file's (loaded here). Waits up to
        ``--lock-timeout`` seconds for another run's lock, saying once who holds it; then
        ``LockHeld`` names the holder. A lock lost while held (``unlock --force``, or a takeover
        after the engine was unreachable for a whole lease) fails the command afterwards."""
        name = project_name or self._loaded_name or self.project_name or self.load().project.name
        early, self._early = self._early, None
        lock = early.join() if early is not None and early.lock is not None \
            and early.name == name else None
        if lock is None:
            if early is not None:
                early.abandon()
            lock = self._new_lock(command, name)
            lock.acquire()
        try:
            yield
        finally:
            try:
                lock.release()
            except StackupError as error:
                click.echo(f"warning: could not release the lock of project {name} (it goes "
                           f"stale by itself): {error.summary}", err=True)
        if lock.lost is not None:
            raise LockHeld(lock.lost, detail="Another run may have changed the project at the "
                                             "same time: check with `stackup plan`.")


pass_globals = click.make_pass_decorator(Globals)
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


# Each command's module, imported when the command is used: importing them all costs more than
# a no-op `up` spends talking to the engine. A command missing here still works (an unknown
# name imports every module first); tests/test_cli_lazy.py holds the table to the modules.
COMMAND_MODULES = {
    "config": "cmd_config", "build": "cmd_images", "images": "cmd_images",
    "pull": "cmd_images", "push": "cmd_images", "exec": "cmd_inspect", "logs": "cmd_inspect",
    "apply": "cmd_lifecycle", "down": "cmd_lifecycle", "history": "cmd_history",
    "plan": "cmd_lifecycle", "restart": "cmd_lifecycle", "rm": "cmd_lifecycle",
    "rollback": "cmd_history", "start": "cmd_lifecycle", "stop": "cmd_lifecycle",
    "up": "cmd_lifecycle", "attach": "cmd_run", "run": "cmd_run", "unlock": "cmd_lock",
    "watch": "cmd_watch", "cp": "cmd_cp", "create": "cmd_create", "scale": "cmd_create",
    "events": "cmd_events", "stats": "cmd_events", "ls": "cmd_ls", "kill": "cmd_more",
    "pause": "cmd_more", "port": "cmd_more", "top": "cmd_more", "unpause": "cmd_more",
    "version": "cmd_more", "volumes": "cmd_more", "wait": "cmd_more", "ps": "cmd_ps",
    "completion": "cmd_completion",
}


class _LazyGroup(click.Group):
    """The ``stackup`` group: a command's module is imported when the command is looked up;
    listing the commands (``--help``) imports them all."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            module = COMMAND_MODULES.get(cmd_name)
            if module is not None:
                import importlib

                importlib.import_module(f"stackup.cli.{module}")
            if cmd_name not in self.commands:
                _register()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        _register()
        return super().list_commands(ctx)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
@click.version_option(package_name="stackup")
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
    if dry_run and target == "swarm":
        raise click.UsageError("--dry-run works with one engine (--target engine); for a "
                               "swarm, `stackup plan` shows what `up` would do")
    if target == "swarm":
        from stackup.cli.cmd_swarm import check_command

        check_command(ctx.invoked_subcommand)


_registered = False


def _register() -> None:
    """Import every command module (``--help``, shell completion, an unknown command name)."""
    global _registered
    if _registered:
        return
    from stackup.cli import cmd_config, cmd_images, cmd_inspect, cmd_lifecycle  # noqa: F401
    from stackup.cli import cmd_run  # noqa: F401
    from stackup.cli import cmd_lock  # noqa: F401
    from stackup.cli import cmd_history, cmd_watch  # noqa: F401
    from stackup.cli import cmd_cp, cmd_create, cmd_events, cmd_ls, cmd_more, cmd_ps  # noqa: F401
    from stackup.cli import cmd_completion  # last: it completes the SERVICE arguments above
    cmd_completion.attach_service_completion(cli)
    _registered = True


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


def main(argv: list[str] | None = None) -> None:
    if "_STACKUP_COMPLETE" in os.environ:  # completion: SERVICE arguments complete everywhere
        _register()
    g = Globals(debug=_env_debug())
    try:
        try:
            cli.main(args=argv, prog_name="stackup", standalone_mode=False, obj=g)
        finally:
            g.drop_early()
    except StalePlan as error:  # `apply FILE`: nothing was changed
        _fail(g, f"error: {error}", code=EX_STALE_PLAN)
    except StackupError as error:
        _fail(g, f"error: {error}")
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.UsageError as usage:
        usage.show()
        sys.exit(EX_USAGE)
    except click.ClickException as problem:
        problem.show()
        sys.exit(1)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        # stdout's reader went away (`stackup logs | head`): nothing more to say to it
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        sys.exit(0)
    except Exception as bug:  # noqa: BLE001 - the one place a bug becomes a message
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
