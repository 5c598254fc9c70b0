"""``stackup stats``: show the resource usage of the project's containers (of SERVICE(s) when
named)."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.cli.selection import containers, each, table
from stackup.cli.views.engine_events import stats_record
from stackup.cli.views.formatting import render_template
from stackup.core.errors import StackupError

_COLUMNS = ("ID", "Name", "CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO", "PIDs")


_HEADERS = {"ID": "CONTAINER ID", "Container": "CONTAINER", "Name": "NAME", "CPUPerc": "CPU %",
            "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
            "BlockIO": "BLOCK I/O", "PIDs": "PIDS"}


def _render(rows: list[dict[str, str]], fmt: str) -> str:
    if fmt == "json":
        return "".join(json.dumps(r) + "\n" for r in rows)
    if fmt == "table":
        return table([_HEADERS[c] for c in _COLUMNS], [[r[c] for c in _COLUMNS] for r in rows])
    return render_template(fmt, rows, _HEADERS)


@click.command("stats")
@click.option("--no-stream", is_flag=True, help="Print one sample and exit.")
@click.option("-a", "--all", "show_all", is_flag=True, help="Include stopped containers.")
@click.option("--format", "fmt", default="table", show_default=True,
              help="table, json, or a template such as '{{.Name}} {{.CPUPerc}}'.")
@click.option("--no-trunc", is_flag=True, help="Full container ids.")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def stats_cmd(g: Globals, no_stream: bool, show_all: bool, fmt: str, no_trunc: bool,
              services: tuple[str, ...]) -> None:
    """Show the resource usage of the project's containers (of SERVICE(s) when named)."""
    _, found = containers(g, services, running=not show_all)
    engine = g.engine()
    latest: dict[str, dict[str, str]] = {}
    lock = threading.Lock()

    def sample(container: Any) -> None:
        for one in engine.stats(container.container_id, stream=not no_stream):
            record = stats_record(container.name, container.container_id, one)
            if no_trunc:
                record["ID"] = record["Container"] = container.container_id
            with lock:
                latest[container.container_id] = record

    if no_stream:
        for container, error in each(found, sample, max(1, len(found))):
            click.echo(f"error: {container.name}: {error}", err=True)
        click.echo(_render([latest[c.container_id] for c in found
                            if c.container_id in latest], fmt), nl=False)
        return
    def follow(container: Any) -> None:
        try:
            sample(container)
        except StackupError:  # the container went away: its row goes too
            pass
        with lock:
            latest.pop(container.container_id, None)

    for container in found:
        # `stats`: one reader per container's stats stream; ends with it or with the process
        threading.Thread(target=follow, args=(container,), daemon=True).start()
    clear = sys.stdout.isatty() and fmt == "table"
    while True:
        time.sleep(1.0)
        with lock:
            rows = [latest[c.container_id] for c in found if c.container_id in latest]
        text = _render(rows, fmt)
        click.echo(("\x1b[2J\x1b[H" if clear else "") + text, nl=False)
