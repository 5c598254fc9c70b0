"""``stackup config``: print the loaded, merged, normalized model (or names, or only validate).

Pipeline position: CLI over the loader and ``loader.serialize``; the engine only for
``--resolve-image-digests`` / ``--lock-image-digests`` (its distribution endpoint asks the
registry, as Compose does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.cli.views.config_views import View, render
from stackup.core.errors import ProjectError

if TYPE_CHECKING:
    from stackup.core.model import Project


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
@click.option("--resolve-image-digests", is_flag=True,
              help="Pin each service's image to the digest its registry gives it now.")
@click.option("--lock-image-digests", is_flag=True,
              help="Print an override file that pins each service's image to its digest.")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def config_cmd(g: Globals, fmt: str, quiet: bool, list_services: bool, list_volumes: bool,
               list_networks: bool, list_profiles: bool, output: str | None,
               resolve_image_digests: bool, lock_image_digests: bool,
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
        if resolve_image_digests or lock_image_digests:
            project = _pinned(g, project)
        if quiet:
            return
        if lock_image_digests:
            text = _lock_text(project, fmt)
        elif list_services:
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


def _pinned(g: Globals, project: Project) -> Project:
    """Each service's ``image:`` with the digest its registry gives it now (``ref@sha256:``),
    asked through the engine as Compose does; one already pinned is kept."""
    import dataclasses

    from stackup.core.model import FrozenMap

    digests: dict[str, str] = {}
    pinned = {}
    for name, service in project.services.items():
        image = service.image
        if image is not None and "@" not in image:
            if image not in digests:
                digests[image] = g.engine().registry_digest(image)
            service = dataclasses.replace(service, image=f"{image}@{digests[image]}")
        pinned[name] = service
    return dataclasses.replace(project, services=FrozenMap(pinned))


def _lock_text(project: Project, fmt: str) -> str:
    """``--lock-image-digests``: an override file with only the pinned images."""
    import json

    import yaml

    doc = {"services": {name: {"image": s.image} for name, s in project.services.items()
                        if s.image is not None and "@" in s.image}}
    if fmt == "json":
        return json.dumps(doc, indent=2) + "\n"
    return str(yaml.safe_dump(doc, sort_keys=False, default_flow_style=False))
