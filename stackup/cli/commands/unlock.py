"""``unlock``: show or remove the project's lock (one writer per project), for operators.

Pipeline position: CLI over ``app.locking``. The lock itself is taken by ``Globals.locked``
around every command that changes the engine; this command never takes it.
"""

from __future__ import annotations

import click

from stackup.cli.context import Globals, pass_globals
from stackup.core.errors import LockHeld, ProjectError


def _project_name(g: Globals) -> str:
    """The project's name from the stack file, or from -p when there is no stack file."""
    try:
        return g.load().project.name
    except ProjectError:
        if g.project_name:
            return g.project_name
        raise


@click.command("unlock")
@click.option("--force", is_flag=True,
              help="Remove the lock, even though the run holding it may still be working.")
@pass_globals
def unlock_cmd(g: Globals, force: bool) -> None:
    """Remove the project's lock left by a run that is gone (with --force).

    A lock is taken over by itself once its holder's process is gone (same host) or it has not
    been renewed for its lease (30 s by default); this is for when waiting is not an option."""
    from stackup.app.locking import force_unlock, holder_of

    name = _project_name(g)
    store = g.engine().lock_store()
    if not force:
        record = holder_of(store, name)
        if record is None:
            click.echo(f"project {name} is not locked", err=True)
            return
        raise LockHeld(f"project {name} is locked by {record.holder.describe()}",
                       detail="If that run is gone, `stackup unlock --force` removes the lock.")
    removed = force_unlock(store, name)
    if removed is None:
        click.echo(f"project {name} is not locked", err=True)
    else:
        click.echo(f"removed the lock of project {name} held by {removed.holder.describe()}",
                   err=True)
