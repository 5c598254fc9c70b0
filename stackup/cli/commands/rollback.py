"""``stackup rollback``: converge back to REVISION (default: the previous good one), without the
old files."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

import click

from stackup.app import revisions as R
from stackup.cli.context import Globals, pass_globals
from stackup.cli.revision_records import converge_to, current_state, revisions_of
from stackup.core.errors import ProjectError

if TYPE_CHECKING:
    from stackup.core.model import Project
    from stackup.run.events import Outcome


@click.command("rollback")
@click.argument("revision", type=int, required=False)
@pass_globals
def rollback_cmd(g: Globals, revision: int | None) -> None:
    """Converge back to REVISION (default: the previous good one), without the old files."""
    current, environ, name = current_state(g)
    if name is None:
        raise ProjectError("which project? no stack file found and no -p NAME given")
    locked = getattr(g, "locked", None)
    if locked is None:
        outcome = _rollback(g, name, revision, current, environ)
    else:
        with locked("rollback", name):
            outcome = _rollback(g, name, revision, current, environ)
    if not outcome.ok:
        sys.exit(1)


def _rollback(g: Globals, name: str, number: int | None, current: Project | None,
              environ: Mapping[str, str]) -> Outcome:
    target = R.rollback_target(revisions_of(g.engine(), name), number)
    return converge_to(g, target, f"rollback to {target.number}", plan_out=sys.stdout,
                       current=current, environ=environ)
