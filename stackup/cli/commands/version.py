"""``stackup version``: show stackup's version."""

from __future__ import annotations

import json

import click


@click.command("version")
@click.option("--short", is_flag=True, help="Only the version number.")
@click.option("-f", "--format", "fmt", type=click.Choice(["pretty", "json"]), default="pretty",
              show_default=True)
def version_cmd(short: bool, fmt: str) -> None:
    """Show stackup's version."""
    from stackup import __version__

    if short:
        click.echo(__version__)
    elif fmt == "json":
        click.echo(json.dumps({"version": __version__}))
    else:
        click.echo(f"stackup version {__version__}")
