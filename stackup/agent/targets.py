"""Where a stack runs, as a sync sees it: one engine's containers, or a Docker Swarm's services.

Pipeline position: under ``sync``, over ``app``. ``sync`` plans, saves, checks and runs plans
through a ``Target`` and never asks which one it holds; each one calls the use cases the CLI's
``--target`` of the same name calls (``app.containers`` for ``engine``, ``app.swarm`` for
``swarm``), with ``up --wait --remove-orphans``'s options. The project's lock and its revision
records live on the engine the agent connects to (for ``swarm``, the manager) either way, so
recording, rollback to the last good revision and the gate are the same code for both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from stackup.core.model import Project
    from stackup.core.plan import Plan
    from stackup.ports.engine import Engine
    from stackup.run.events import Outcome


class Target(Protocol):
    name: str
    drift_scope: str  # what drift between commits means on this target ("" when complete)

    def plan(self, project: Project, tree: Any) -> Plan:
        """What ``up --wait --remove-orphans`` would do now (``tree``: the loader's located
        tree for messages with lines, None for a project restored from a revision)."""
        ...

    def run(self, plan: Plan, project: Project, wait_timeout: float) -> Outcome:
        """Execute ``plan`` and wait until it converged; failures are in the outcome."""
        ...

    def save(self, project: Project, tree: Any) -> tuple[Plan, str, str]:
        """(the plan, its saved form, the saved form's digest) for an approval later."""
        ...

    def check_saved(self, text: str, source: str, project: Project, tree: Any) -> Plan:
        """The saved plan, ready to run, if nothing it was made from moved; else
        ``StalePlan`` and nothing changes."""
        ...


class EngineTarget:
    """Containers on one engine: ``stackup up``'s use cases."""

    name = "engine"
    drift_scope = ""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def plan(self, project: Project, tree: Any) -> Plan:
        from stackup.app import containers as app

        return app.plan_up(project, self.engine, _engine_options())

    def run(self, plan: Plan, project: Project, wait_timeout: float) -> Outcome:
        from stackup.app import containers as app

        return app.run_plan(plan, project, self.engine, app.RunOptions(wait_timeout=wait_timeout))

    def save(self, project: Project, tree: Any) -> tuple[Plan, str, str]:
        from stackup.app import saved_plans
        from stackup.app import planfile

        plan, text = saved_plans.save_plan(project, self.engine, _engine_options())
        return plan, text, planfile.load(text, "pending plan").digest

    def check_saved(self, text: str, source: str, project: Project, tree: Any) -> Plan:
        from stackup.app import saved_plans

        return saved_plans.check_saved_plan(text, source, project, self.engine)


class SwarmTarget:
    """Services on the Docker Swarm the engine manages: ``stackup --target swarm up``'s use
    cases. Each plan and run gets a fresh backend, as each CLI command does: a backend
    remembers the rollouts it started, and a wait must judge only those."""

    name = "swarm"
    drift_scope = ("on a swarm, drift is what its plan sees: a missing service, network, "
                   "secret or config, or a replica count changed outside stackup; a service "
                   "spec edited by hand is not seen (the swarm restarts failed tasks itself)")

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _backend(self) -> Any:
        from stackup.app.wiring import swarm

        return swarm(self.engine)

    def _plan(self, project: Project, tree: Any) -> tuple[Plan, Any]:
        from stackup.app import swarm as app

        return app.make_plan(self._backend(), project, tree, _swarm_options())

    def plan(self, project: Project, tree: Any) -> Plan:
        return self._plan(project, tree)[0]

    def run(self, plan: Plan, project: Project, wait_timeout: float) -> Outcome:
        from stackup.app import swarm as app

        return app.run(plan, self._backend(), parallel=16, wait_timeout=wait_timeout,
                       on_event=lambda event: None)

    def save(self, project: Project, tree: Any) -> tuple[Plan, str, str]:
        import datetime
        import json

        from stackup import __version__
        from stackup.core.render import plan_json
        from stackup.swarm import saved

        plan, observed = self._plan(project, tree)
        created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        text = saved.dump(plan, plan_json(plan), observed, _swarm_options(),
                          version=__version__, created=created)
        return plan, text, str(json.loads(text)["digest"])

    def check_saved(self, text: str, source: str, project: Project, tree: Any) -> Plan:
        from stackup.core.errors import StalePlan
        from stackup.swarm import saved

        body = saved.load(text, source)
        plan, observed = self._plan(project, tree)  # the agent's own options, as when saved
        moved = saved.moved(body, plan, observed)
        if moved:
            raise StalePlan(f"the plan in {source} is stale: nothing was changed", tuple(moved))
        return plan


def _engine_options() -> Any:
    from stackup.reconcile import UpOptions

    return UpOptions(remove_orphans=True, wait=True)


def _swarm_options() -> Any:
    from stackup.swarm import SwarmUpOptions

    return SwarmUpOptions(remove_orphans=True, wait=True)


TARGETS: Mapping[str, type[EngineTarget] | type[SwarmTarget]] = {
    "engine": EngineTarget, "swarm": SwarmTarget}


def target_of(name: str, engine: Engine) -> Target:
    """The target ``agent.yaml`` names (``config`` has checked the name)."""
    return TARGETS[name](engine)
