"""The revision history's use cases: record what a run did, restore what a record held, remove
the records (``down -v``).

Pipeline position: beside ``app.containers``, after ``execute``. The records' form (labels,
the model, secrets as digests) is ``app.revisions``, pure; here the engine stores and lists
them (``RevisionPort``), and the files a record digests are read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stackup.app.revisions import Revision
    from stackup.core.model import Project
    from stackup.core.plan import Plan
    from stackup.ports.engine import Engine
    from stackup.run.events import Outcome


def remove_revision_records(project_name: str, engine: Engine) -> tuple[int, int]:
    """``down -v``: remove the project's revision records too; returns (how many there were,
    how many the engine still lists afterwards), so that what is reported is what happened."""
    from stackup.app import revisions as R

    def listed() -> list[int]:
        return sorted(int(labels[R.NUMBER]) for labels in engine.list_revisions(project_name)
                      if labels.get(R.NUMBER, "").isdigit())

    numbers = listed()
    if not numbers:
        return 0, 0
    engine.remove_revisions(project_name, numbers)
    return len(numbers), len(set(numbers) & set(listed()))


def who() -> str:
    """``user@host`` for a revision record."""
    import getpass
    import os
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"{user}@{socket.gethostname()}"


def file_digests(paths: Iterable[str]) -> dict[str, str]:
    """sha256 of each readable file (unreadable ones are left out)."""
    from stackup.app import revisions as R

    out: dict[str, str] = {}
    for path in paths:
        try:
            with open(path, "rb") as handle:
                out[path] = R.sha256(handle.read())
        except OSError:
            continue
    return out


def failure_reason(outcome: Outcome) -> str:
    """The first failed operation and why (``"web: container is unhealthy (+1 more)"``)."""
    if outcome.failed:
        op, error = outcome.failed[0]
        more = f" (+{len(outcome.failed) - 1} more)" if len(outcome.failed) > 1 else ""
        return f"{op.subject}: {error.summary}{more}"
    if outcome.skipped:
        return f"{len(outcome.skipped)} operations skipped"
    return ""


def store_revision(engine: Engine, revision: Revision, known: Iterable[int]) -> Revision:
    """Record ``revision`` under the next free number (race-free: create-or-get by name)."""
    import dataclasses

    from stackup.app import revisions as R
    from stackup.core.errors import StackupError

    number = R.next_number(known)
    for _ in range(64):
        candidate = dataclasses.replace(revision, number=number)
        stored = engine.create_revision(
            revision.project_name, number, R.to_labels(candidate))
        if stored.get(R.TOKEN) == revision.token:
            return candidate
        number += 1
    raise StackupError(f"cannot record a revision of {revision.project_name}: too many "
                       "concurrent writers")


def record_revision(engine: Engine, project: Project, services: tuple[str, ...],
                    plan: Plan | None, outcome: Outcome, *, command: str,
                    source: tuple[str | None, bool | None], plan_digest: str = "",
                    rollback_to: int | None = None, author: str | None = None,
                    message: str | None = None) -> Revision | None:
    """Record what a run just did on the engine; None when it changed nothing
    (``revisions.changed_nothing``) and the newest record has the same model (unless it ends
    or starts a rollback's hold on the desired state). ``source``: (git commit, dirty);
    ``author`` and ``message``: the commit's, when known. Raises ``StackupError`` when the engine cannot store it."""
    import datetime
    import uuid

    from stackup import __version__
    from stackup.app import revisions as R
    from stackup.core.errors import ProjectError

    model, digests = R.recorded_model(project, file_digests(R.file_sources(project)))
    # only the newest record is read back (each holds a whole model): the others' numbers
    # are enough to pick the next one
    records = engine.list_revisions(project.name)

    def number(labels: Mapping[str, str]) -> int:
        return int(labels[R.NUMBER]) if labels.get(R.NUMBER, "").isdigit() else 0

    latest = None  # None: no record, or a damaged newest one
    if records:
        newest = max(records, key=number)
        try:
            latest = R.from_labels(newest, R.volume_name(project.name, number(newest)))
        except ProjectError:
            latest = None
    if (R.changed_nothing(plan, outcome, command) and latest is not None
            and latest.ok and latest.model_sha256 == R.sha256(model)
            and latest.rollback_to == rollback_to):
        return None
    commit, dirty = source
    revision = R.Revision(
        project_name=project.name, number=0,
        time=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        user=who(), command=command, services=services,
        outcome="ok" if outcome.ok else "failed", reason=failure_reason(outcome),
        model=model, digests=digests, commit=commit, dirty=dirty,
        working_dir=project.working_dir, stackup_version=__version__,
        token=uuid.uuid4().hex, plan_digest=plan_digest,
        env_file_keys=R.env_file_keys(project), rollback_to=rollback_to,
        author=author, message=message)
    return store_revision(engine, revision, [number(labels) for labels in records])


def restore_revision(revision: Revision, current: Project | None,
                     environ: Mapping[str, str]) -> Project:
    """The model of ``revision`` as a Project, secret contents found again by digest in
    ``environ``, ``current`` (the stack files now) or the files they name."""
    import json

    from stackup.app import revisions as R

    doc = json.loads(revision.model)
    files = [str(entry.get("file")) for kind in ("secrets", "configs")
             for entry in (doc.get(kind) or {}).values() if entry.get("file")]
    return R.restore_project(revision, environ=environ, current=current,
                             file_digests=file_digests(files))
