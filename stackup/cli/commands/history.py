"""``stackup history``: list the project's recorded revisions (kept on the engine), oldest first,
each with what it changed relative to the one before (services and keys; secret values masked)
and its git commit. `down` keeps the records, `down -v` removes them."""

from __future__ import annotations

import json
from typing import Any

import click

from stackup.app import revisions as R
from stackup.cli.context import Globals, pass_globals
from stackup.cli.revision_records import current_state, revisions_of
from stackup.core.errors import ProjectError


def _row(r: R.Revision, previous: R.Revision | None) -> str:
    source = ((r.commit or "")[:12] + ("+dirty" if r.dirty else "")) if r.commit else "-"
    services = f" {' '.join(r.services)}" if r.services else ""
    reason = f" ({r.reason})" if r.reason else ""
    by = (f" by {r.author}" if r.author else "") + (f": {r.message}" if r.message else "")
    changes = R.changes_text(R.model_changes(previous, r)) if previous is not None else "(first)"
    return (f"{r.number:>4}  {r.time:<20}  {r.user:<16} {source:<18} {r.outcome:<7} "
            f"{(r.command + by + services + reason):<24} {changes}")


def _with_changes(r: R.Revision, previous: R.Revision | None) -> dict[str, Any]:
    """``history --format json``'s entry: the record and what it changed relative to the
    revision before it (``changes_from``: its number; null for the first one kept)."""
    changes = R.model_changes(previous, r) if previous is not None else ()
    return {**r.summary(), "changes_from": previous.number if previous is not None else None,
            "changes": [c.as_json() for c in changes]}


@click.command("history")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--purge", is_flag=True, help="Remove every recorded revision of the project.")
@pass_globals
def history_cmd(g: Globals, fmt: str, purge: bool) -> None:
    """List the project's recorded revisions (kept on the engine), oldest first, each with
    what it changed relative to the one before (services and keys; secret values masked) and
    its git commit. `down` keeps the records, `down -v` removes them."""
    _, _, name = current_state(g)
    if name is None:
        raise ProjectError("which project? no stack file found and no -p NAME given")
    engine = g.engine()
    if purge:
        numbers = sorted(int(labels[R.NUMBER]) for labels in
                         engine.list_revisions(name)
                         if labels.get(R.NUMBER, "").isdigit())
        engine.remove_revisions(name, numbers)
        click.echo(f"removed {len(numbers)} revision{'' if len(numbers) == 1 else 's'} "
                   f"of {name}", err=True)
        return
    found = revisions_of(engine, name)
    pairs = list(zip(found, [None, *found[:-1]]))
    if fmt == "json":
        click.echo(json.dumps({"project": name, "revisions": [_with_changes(r, before)
                                                              for r, before in pairs]},
                              indent=2))
        return
    if not found:
        click.echo(f"no revisions recorded for {name}", err=True)
        return
    click.echo(f"{'REV':>4}  {'TIME (UTC)':<20}  {'USER':<16} {'SOURCE':<18} {'OUTCOME':<7} "
               f"{'COMMAND':<24} CHANGES")
    for revision, before in pairs:
        click.echo(_row(revision, before))
