"""Reviewed plans' use cases: ``plan --out FILE`` saves one, ``apply FILE`` checks and runs it.

Pipeline position: beside ``app.containers``. The saved document's form, and what "moved"
means, is ``app.planfile`` (pure); here the engine is observed, build contexts are digested
(files are read) and a saved plan's preflight runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stackup.app.containers import Tree, check_plan, observe
from stackup.core.model import Project
from stackup.core.plan import Plan

if TYPE_CHECKING:
    from stackup.ports.engine import Engine
    from stackup.reconcile import UpOptions


def build_context_digests(project: Project) -> dict[str, str]:
    """Image reference → digest of its local build context (paths, sizes and contents)."""
    from hashlib import sha256
    import os

    out: dict[str, str] = {}
    for service in project.services.values():
        build = service.build
        if build is None or not os.path.isdir(build.context):
            continue
        h = sha256()
        for root, dirs, files in os.walk(build.context):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                h.update(os.path.relpath(path, build.context).encode("utf-8", "replace"))
                try:
                    with open(path, "rb") as handle:
                        for chunk in iter(lambda: handle.read(1 << 20), b""):
                            h.update(chunk)
                except OSError:
                    h.update(b"(unreadable)")
        if build.dockerfile_inline is not None:
            h.update(build.dockerfile_inline.encode("utf-8"))
        out[service.image_ref(project.name)] = "sha256:" + h.hexdigest()
    return out


def save_plan(project: Project, engine: Engine, options: UpOptions) -> tuple[Plan, str]:
    """The plan of ``up`` and its saved form (``plan --out``)."""
    import datetime

    from stackup import __version__
    from stackup.app import planfile
    from stackup.reconcile import plan_up as _plan_up

    observed = observe(project, engine)
    plan = _plan_up(project, observed, options)
    prints = planfile.fingerprints(project, observed, build_context_digests(project))
    created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return plan, planfile.dump(plan, prints, version=__version__, created=created)


def check_saved_plan(text: str, source: str, project: Project, engine: Engine, *,
                     tree: Tree = None) -> Plan:
    """The saved plan, ready to run, if nothing moved since it was made and its preflight
    finds nothing; else ``StalePlan`` (nothing changed on the engine) listing what moved,
    ``PreflightFailed`` or ``PlanFileError``."""
    from stackup.app import planfile
    from stackup.core.errors import StalePlan

    saved = planfile.load(text, source)
    observed = observe(project, engine)
    now = planfile.fingerprints(project, observed, build_context_digests(project))
    moved = planfile.moved(saved, now, project)
    if moved:
        raise StalePlan(f"the plan in {source} is stale: {len(moved)} thing(s) moved since it "
                        f"was made; nothing was changed", tuple(moved))
    plan = planfile.to_plan(saved, project)
    check_plan(plan, project, observed, engine, tree)
    return plan


def applied_revision(text: str, source: str, project_name: str,
                     engine: Engine) -> tuple[str, int | None]:
    """(the saved plan's digest, the number of the project's newest revision when that
    revision is an ``apply`` of this very file, else None). Checked before staleness: a plan
    that was applied has, by its own doing, moved what it fingerprinted."""
    from stackup.app import planfile
    from stackup.app import revisions as R

    saved = planfile.load(text, source)
    if saved.project_name != project_name:
        return saved.digest, None
    records = engine.list_revisions(project_name)
    numbered = [labels for labels in records if labels.get(R.NUMBER, "").isdigit()]
    if not numbered:
        return saved.digest, None
    newest = max(numbered, key=lambda labels: int(labels[R.NUMBER]))
    if saved.digest and newest.get(R.PLAN_DIGEST) == saved.digest \
            and newest.get(R.OUTCOME) == "ok":
        return saved.digest, int(newest[R.NUMBER])
    return saved.digest, None
