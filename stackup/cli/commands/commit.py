"""``commit``: a new image from a service container's changes, as ``docker compose commit``.

Pipeline position: CLI over one ownership-filtered observe (``cli.selection``) and one engine
call (``adapters/docker/extra``); it changes no configuration, so it needs no plan. Prints the
new image's id, as ``docker commit`` does.
"""

from __future__ import annotations

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.cli.selection import one_container


def split_reference(reference: str | None) -> tuple[str | None, str | None]:
    """``repo[:tag]`` → (repo, tag); a colon inside a registry's ``host:port`` is not a tag."""
    if not reference:
        return None, None
    head, sep, tail = reference.rpartition(":")
    if sep and "/" not in tail:
        return head, tail
    return reference, None


@click.command("commit")
@click.option("-a", "--author", help='Author (e.g. "Jane Doe <jane@example.com>").')
@click.option("-c", "--change", "changes", multiple=True,
              help="Apply a Dockerfile instruction to the image (repeatable).")
@click.option("-m", "--message", help="Commit message.")
@click.option("-p", "--pause/--no-pause", default=True,
              help="Pause the container while committing (the default).")
@click.option("--index", type=int, help="Replica number (default: the first).")
@click.argument("service", shell_complete=complete.services)
@click.argument("reference", required=False, metavar="[REPOSITORY[:TAG]]")
@pass_globals
def commit_cmd(g: Globals, author: str | None, changes: tuple[str, ...], message: str | None,
               pause: bool, index: int | None, service: str, reference: str | None) -> None:
    """Create a new image from a service container's changes."""
    name, container = one_container(g, service, index)
    repository, tag = split_reference(reference)
    image_id = g.engine().commit_container(name, container.container_id, repository=repository,
                                           tag=tag, author=author, message=message,
                                           changes=changes, pause=pause)
    if image_id:  # a dry run records the commit and makes no image
        click.echo(image_id)
