"""``stackup docker-plugin install|uninstall``: make ``docker stackup ...`` work.

A docker CLI plugin is a program named ``docker-<name>`` in the docker CLI's plugin folder
(``$DOCKER_CONFIG/cli-plugins``, by default ``~/.docker/cli-plugins``). Installing links the
``docker-stackup`` program of this installation (beside the ``stackup`` one) there; uninstalling
removes that link only when it is ours.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from stackup.core.errors import ProjectError


def plugin_folder() -> Path:
    config = os.environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
    return Path(config) / "cli-plugins"


def plugin_program() -> Path:
    beside = Path(sys.argv[0]).resolve().parent / "docker-stackup"
    if beside.exists():
        return beside
    found = shutil.which("docker-stackup") or str(Path(sys.executable).parent / "docker-stackup")
    if not Path(found).exists():
        raise ProjectError("cannot find the docker-stackup program of this installation",
                           detail="Install stackup with pip or pipx (they make it), then run "
                                  "this again.")
    return Path(found)


@click.command("docker-plugin")
@click.argument("action", type=click.Choice(["install", "uninstall"]))
def docker_plugin_cmd(action: str) -> None:
    """Install (or uninstall) `docker stackup` as a docker CLI plugin."""
    link = plugin_folder() / "docker-stackup"
    if action == "uninstall":
        if link.is_symlink() and link.resolve().name == "docker-stackup":
            link.unlink()
            click.echo(f"removed {link}")
        else:
            click.echo(f"nothing to remove: {link} is not a link stackup made")
        return
    program = plugin_program()
    try:
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            if not link.is_symlink():
                raise ProjectError(f"{link} exists and is not a link: not replacing it",
                                   detail="Move it away, then run this again.")
            link.unlink()
        link.symlink_to(program)
    except OSError as exc:
        raise ProjectError(f"cannot install the docker plugin at {link}: {exc.strerror}") from exc
    click.echo(f"installed {link} -> {program}\ntry: docker stackup version")
