"""The ``stackup`` command: global options, error handling, exit codes.

Pipeline position: the outermost layer. Only ``stackup.cli`` prints, reads the process
environment for the loader, and sets exit codes. Subcommands live in the sibling modules.
Exit codes: 0 success, 1 error (bad input, engine failure, failed operations), 2 ``plan
--exit-code`` with changes (and click usage errors), 130 interrupted.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from stackup.errors import StackupError

if TYPE_CHECKING:
    from stackup.engine.base import Engine
    from stackup.loader.loader import Loaded


@dataclass
class Globals:
    files: tuple[str, ...] = ()
    project_name: str | None = None
    project_directory: str | None = None
    env_files: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    parallel: int = 16
    progress: str = "auto"
    _engine: Any = field(default=None, repr=False)

    def load(self, services: tuple[str, ...] = ()) -> Loaded:
        """Load the stack files the way the global options say; warnings go to stderr."""
        from stackup.loader.loader import LoadOptions, load_project

        stdin = sys.stdin.read() if "-" in self.files else None
        loaded = load_project(LoadOptions(
            files=self.files, project_name=self.project_name,
            project_directory=self.project_directory, env_files=self.env_files,
            profiles=self.profiles, services=services, environ=dict(os.environ),
            stdin=stdin, cwd=os.getcwd()))
        for warning in loaded.warnings:
            click.echo(f"warning: {warning}", err=True)
        return loaded

    def engine(self) -> Engine:
        if self._engine is None:
            from stackup.app import connect

            self._engine = connect()
        return self._engine


pass_globals = click.make_pass_decorator(Globals)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-f", "--file", "files", multiple=True, metavar="FILE",
              help="Stack file (repeatable; '-' reads stdin). Default: compose.yaml and its override.")
@click.option("-p", "--project-name", help="Project name (default: COMPOSE_PROJECT_NAME, name:, folder).")
@click.option("--project-directory", type=click.Path(file_okay=False),
              help="Folder relative paths resolve against (default: the first file's folder).")
@click.option("--env-file", "env_files", multiple=True, metavar="FILE",
              help="Interpolation variables file (repeatable; replaces .env).")
@click.option("--profile", "profiles", multiple=True, help="Enable a profile (repeatable).")
@click.option("--parallel", type=click.IntRange(1, 256), default=16, show_default=True,
              help="Engine calls in flight at once (stops: 4x, at least 64).")
@click.option("--progress", type=click.Choice(["auto", "tty", "plain", "json", "quiet"]),
              default="auto", show_default=True, help="How to show progress on stderr.")
@click.version_option(package_name="stackup")
@click.pass_context
def cli(ctx: click.Context, files: tuple[str, ...], project_name: str | None,
        project_directory: str | None, env_files: tuple[str, ...], profiles: tuple[str, ...],
        parallel: int, progress: str) -> None:
    """Bring Compose stacks up, keep them converged, tear them down."""
    ctx.obj = Globals(files=files, project_name=project_name,
                      project_directory=project_directory, env_files=env_files,
                      profiles=profiles, parallel=parallel, progress=progress)


def _register() -> None:
    from stackup.cli import cmd_config, cmd_images, cmd_inspect, cmd_lifecycle  # noqa: F401


def main(argv: list[str] | None = None) -> None:
    _register()
    try:
        cli.main(args=argv, prog_name="stackup", standalone_mode=False)
    except StackupError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as usage:
        usage.show()
        sys.exit(usage.exit_code)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    sys.exit(0)


if __name__ == "__main__":
    main()
