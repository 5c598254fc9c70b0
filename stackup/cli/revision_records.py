"""The revision recorded after every ``up``/``apply`` and what ``history``, ``rollback`` and
``drift`` read back: the git source, file digests, storing and reading records."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import click

from stackup.app import revisions as R
from stackup.cli.context import Globals
from stackup.core.errors import ProjectError, StackupError

if TYPE_CHECKING:
    from stackup.ports.engine import Engine
    from stackup.run.events import Outcome
    from stackup.core.model import Project
    from stackup.core.plan import Plan


# --- the impure parts of a record ---------------------------------------------------------------


def git_source(project: Project) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the git work tree holding the stack files; (None, None) outside one
    (or without git)."""
    import subprocess

    folder = os.path.dirname(project.config_files[0]) if project.config_files and \
        project.config_files[0] != "-" else project.working_dir
    try:
        head = subprocess.run(["git", "-C", folder, "rev-parse", "--verify", "-q", "HEAD"],
                              capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None, None
        status = subprocess.run(["git", "-C", folder, "status", "--porcelain", "--", "."],
                                capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None, None
    return head.stdout.strip() or None, bool(status.stdout.strip())


def file_digests(paths: Iterable[str]) -> dict[str, str]:
    """sha256 of each readable file (``revision_store.file_digests``)."""
    from stackup.app import revision_store

    return revision_store.file_digests(paths)


# --- reading and writing records --------------------------------------------------------------


def revisions_of(engine: Engine, project_name: str) -> list[R.Revision]:
    """The project's revisions, oldest first; a damaged record is skipped with a warning."""
    return _parsed(engine.list_revisions(project_name), project_name)


def _number(labels: Mapping[str, str]) -> int:
    return int(labels[R.NUMBER]) if labels.get(R.NUMBER, "").isdigit() else 0


def _parsed(records: Iterable[Mapping[str, str]], project_name: str) -> list[R.Revision]:
    found = []
    for labels in records:
        try:
            found.append(R.from_labels(labels, R.volume_name(project_name, _number(labels))))
        except ProjectError as error:
            click.echo(f"warning: skipped {error.summary}: {error.detail}", err=True)
    return sorted(found, key=lambda r: r.number)


def store(engine: Engine, revision: R.Revision, known: Iterable[int]) -> R.Revision:
    """Record ``revision`` under the next free number (``revision_store.store_revision``)."""
    from stackup.app import revision_store

    return revision_store.store_revision(engine, revision, known)


def record_revision(g: Globals, project: Project, services: tuple[str, ...], plan: Plan | None,
                    outcome: Outcome, *, command: str = "up",
                    source: tuple[str | None, bool | None] | None = None,
                    plan_digest: str = "", rollback_to: int | None = None) -> R.Revision | None:
    """Record what an ``up`` (or a rollback to ``rollback_to``, an ``apply``) just did. A run
    that changed nothing (``revisions.changed_nothing``) with the latest revision's model adds
    nothing (unless it ends or starts a rollback's hold on the desired state), and so does a
    ``--dry-run``. Never fails the command: a warning instead."""
    if g.dry_run:
        return None
    from stackup.app import revision_store

    try:
        return revision_store.record_revision(
            g.engine(), project, services, plan, outcome, command=command,
            source=source if source is not None else git_source(project),
            plan_digest=plan_digest, rollback_to=rollback_to)
    except StackupError as error:
        click.echo(f"warning: could not record the revision of {project.name}: {error}",
                   err=True)
        return None


# --- rollback ---------------------------------------------------------------------------------


def current_state(g: Globals) -> tuple[Project | None, Mapping[str, str], str | None]:
    """The stack files as they are now, when they load: (project, environment, name)."""
    try:
        loaded = g.load()
    except StackupError:
        return None, dict(os.environ), g.project_name
    return loaded.project, {**loaded.environment, **os.environ}, loaded.project.name


def restore(revision: R.Revision, current: Project | None,
            environ: Mapping[str, str]) -> Project:
    from stackup.app import revision_store

    return revision_store.restore_revision(revision, current, environ)


def load_revision_project(g: Globals, number: int | None) -> Project:
    """The model of revision ``number`` (None: the previous good one) as a Project, for
    ``plan --revision N`` and ``rollback``."""
    current, environ, name = current_state(g)
    if name is None:
        raise ProjectError("which project? no stack file found and no -p NAME given")
    target = R.rollback_target(revisions_of(g.engine(), name), number)
    return restore(target, current, environ)


def converge_to(g: Globals, target: R.Revision, command: str, *, plan_out: Any,
                current: Project | None, environ: Mapping[str, str]) -> Outcome:
    """Converge the project to ``target`` through ``app.up`` (the plan that runs printed
    first, with the field-level changes it applies), record the result as a new revision that
    makes ``target`` the desired state, and warn where the stack files now differ from what
    runs. Returns the outcome."""
    from stackup.app import containers as app
    from stackup.cli.views.progress import Progress
    from stackup.reconcile import UpOptions
    from stackup.core.render import plan_text

    project = restore(target, current, environ)
    engine = g.engine()
    options = UpOptions(remove_orphans=True)

    def show(plan: Plan) -> None:
        click.echo(f"Rolling back {project.name} to revision {target.number} "
                   f"({target.time}, {target.command}):", file=plan_out)
        click.echo(plan_text(plan, diff=True), file=plan_out, nl=False)

    plan = app.plan_up(project, engine, options)
    show(plan)  # the plan that runs, as it runs
    progress = Progress(g.progress)
    outcome = app.run_plan(plan, project, engine, app.RunOptions(parallel=g.parallel),
                           progress.on_event)
    progress.summary(plan, outcome, verb="rollback")
    record_revision(g, project, (), plan, outcome, command=command,
                    source=(target.commit, target.dirty), rollback_to=target.number)
    warn_files_differ(project, current, target.number)
    return outcome


def warn_files_differ(running: Project, files: Project | None, number: int) -> None:
    """After a rollback: say that the stack files on disk no longer describe what runs, and
    which fields differ (names only), and what keeps which."""
    differ = R.differences(files, running) if files is not None else []
    if differ:
        click.echo(f"warning: the stack files now differ from what runs (revision {number}):",
                   err=True)
        for line in differ:
            click.echo(f"  {line}", err=True)
        click.echo(f"`stackup drift --heal` keeps revision {number}; the next `stackup up` or "
                   f"`apply` returns to the stack files.", err=True)


def desired_state(engine: Engine, project_name: str, current: Project | None,
                  environ: Mapping[str, str]) -> tuple[R.Revision | None, Project | None]:
    """The revision that is the project's desired state after a rollback, and its model as a
    Project; (None, None) when the desired state is the stack files. Only the newest record is
    read back (each holds a whole model)."""
    records = engine.list_revisions(project_name)
    newest = _parsed([max(records, key=_number)], project_name) if records else []
    target = R.desired_revision(newest)
    if target is None:
        return None, None
    return target, restore(target, current, environ)


def after_up(g: Globals, project: Project, services: tuple[str, ...], plan: Plan,
             outcome: Outcome, progress: Any, rollback_on_failure: bool) -> None:
    """The one call at the end of ``up``: record the revision; on failure with
    ``--rollback-on-failure`` report the failure, converge back to the previous good
    revision and exit 1."""
    recorded = record_revision(g, project, services, plan, outcome)
    if outcome.ok or not rollback_on_failure:
        return
    progress.summary(plan, outcome, verb="up")
    history = revisions_of(g.engine(), project.name)
    failed_number = recorded.number if recorded is not None else R.next_number(
        r.number for r in history)
    target = R.previous_good(history, failed_number)
    if target is None:
        click.echo("error: up failed and there is no earlier good revision to roll back to",
                   err=True)
        sys.exit(1)
    _, environ, _ = current_state(g)
    converge_to(g, target, f"rollback to {target.number} (after revision {failed_number} "
                f"failed)", plan_out=sys.stderr, current=project, environ=environ)
    click.echo(f"error: up failed; rolled back to revision {target.number}", err=True)
    sys.exit(1)


# --- commands ---------------------------------------------------------------------------------


