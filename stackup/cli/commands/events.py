"""``stackup events``: stream the container events of the project (of SERVICE(s) when named)."""

from __future__ import annotations

import json

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.cli.selection import load_or_name
from stackup.cli.views.engine_events import event_record


@click.command("events")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--since", help="Show events since this time (unix seconds or RFC 3339).")
@click.option("--until", help="Stop at this time (unix seconds or RFC 3339).")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def events_cmd(g: Globals, as_json: bool, since: str | None, until: str | None,
               services: tuple[str, ...]) -> None:
    """Stream the container events of the project (of SERVICE(s) when named)."""
    _, name = load_or_name(g, services)
    for event in g.engine().events(name, since=since, until=until):
        record = event_record(event)
        if record is None or (services and record["service"] not in services):
            continue
        text_time = record.pop("_text_time")
        if as_json:
            click.echo(json.dumps(record))
        else:
            attrs = ", ".join(f"{k}={v}" for k, v in record["attributes"].items())
            click.echo(f"{text_time} container {record['action']} {record['id']} ({attrs})")
