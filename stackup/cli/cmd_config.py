"""``stackup config``: print the loaded, merged, normalized model (or names, or only validate).

Pipeline position: CLI over the loader and ``loader.serialize``; never touches the engine.
"""

from __future__ import annotations

from typing import Any

import click

from stackup.cli import complete
from stackup.cli.views.config_views import View, render
from stackup.cli.context import Globals, pass_globals
from stackup.core.errors import ProjectError


@click.command("config")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml",
              show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="Only validate; print nothing.")
@click.option("--services", "list_services", is_flag=True, help="Print the service names.")
@click.option("--volumes", "list_volumes", is_flag=True, help="Print the volume names.")
@click.option("--networks", "list_networks", is_flag=True, help="Print the network names.")
@click.option("--profiles", "list_profiles", is_flag=True, help="Print the profile names.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file.")
@click.option("--hash", "hash", metavar="SERVICES",
              help="Print each service's config hash ('*': all, or a comma-separated list).")
@click.option("--images", is_flag=True, help="Print the image of each service.")
@click.option("--environment", is_flag=True, help="Print the interpolation environment.")
@click.option("--variables", is_flag=True,
              help="Print the variables the files use, with their defaults.")
@click.option("--no-interpolate", is_flag=True, help="Leave ${VAR} as written.")
@click.option("--no-normalize", is_flag=True,
              help="Print the merged files as written (no defaults, no long forms).")
@click.option("--no-path-resolution", is_flag=True,
              help="Keep host paths relative to the project directory.")
@click.option("--no-env-resolution", is_flag=True,
              help="Print each service's env_file entries instead of the environment they "
                   "resolve to.")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def config_cmd(g: Globals, fmt: str, quiet: bool, list_services: bool, list_volumes: bool,
               list_networks: bool, list_profiles: bool, output: str | None,
               services: tuple[str, ...], **flags: Any) -> None:
    """Validate the stack files and print the resolved model in Compose's shape."""
    g.deploy_target().check_config(g, services)  # refusals first, then the usual output
    view = View(**flags)
    if view.special:
        text = render(g, services, fmt, view)
        if quiet:
            return
    else:
        project = g.load(services).project
        if services:
            from stackup.app.containers import check_services

            check_services(project, services)
        if quiet:
            return
        if list_services:
            text = "\n".join(project.services) + ("\n" if project.services else "")
        elif list_volumes:
            text = "\n".join(project.volumes) + ("\n" if project.volumes else "")
        elif list_networks:
            text = "\n".join(project.networks) + ("\n" if project.networks else "")
        elif list_profiles:
            text = "".join(f"{p}\n" for p in project.all_profiles)
        else:
            from stackup.loader.serialize import to_json, to_yaml

            text = to_json(project) if fmt == "json" else to_yaml(project)
            if not text.endswith("\n"):
                text += "\n"
    if output:
        try:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise ProjectError(f"cannot write {output}: {exc.strerror or exc}",
                               detail="Give -o a path in a folder that exists and you can "
                                      "write to.") from exc
    else:
        click.echo(text, nl=False)
