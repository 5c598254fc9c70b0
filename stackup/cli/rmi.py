"""``down --rmi local|all``: the images of the project's services, removed after its containers.

Pipeline position: CLI, after ``down`` ran its plan. ``local`` = images stackup named itself
(``<project>-<service>``, services with ``build:`` and no ``image:``); ``all`` = every image a
service uses. Without a stack file (``-p NAME``) the images come from the containers' labels.
An image the engine does not have is fine; one still used elsewhere is an error that says so.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from stackup.core.errors import StackupError

if TYPE_CHECKING:
    from stackup.ports.engine import Engine
    from stackup.core.model import Project
    from stackup.core.observed import ObservedState

RMI_CHOICES = ("local", "all")


def images_of(project: Project | None, observed: ObservedState, which: str) -> list[str]:
    """The image references ``down --rmi which`` removes, sorted."""
    refs: set[str] = set()
    if project is not None:
        for service in project.services.values():
            ref = service.image_ref(project.name)
            if which == "all" or service.image is None:
                refs.add(ref)
    for container in observed.containers:
        default = f"{observed.project_name}-{container.service}"
        if container.image_ref and (which == "all" or container.image_ref == default):
            refs.add(container.image_ref)
    return sorted(refs)


def remove_images(engine: Engine, refs: list[str], quiet: bool = False) -> None:
    """Remove each image; report what went; exit 1 when one could not be removed."""
    failed = False
    for ref in refs:
        try:
            removed = engine.remove_image(ref)
        except StackupError as error:
            failed = True
            click.echo(f"error: {str(error).splitlines()[0]}", err=True)
            continue
        if removed and not quiet:
            click.echo(f" {'done':<7} {'remove':<14} image {ref}", err=True)
    if failed:
        sys.exit(1)
