"""The Swarm target's use cases: load, observe, plan and run a stack on a Docker Swarm.

Pipeline position: the same loader as one engine (``.env``, interpolation, merge) →
``swarm.check`` (refusals, located in the tree kept from that same load) → the ``SwarmPort``'s
observe → ``swarm.reconcile`` (pure) → ``execute`` with the ``SwarmPort`` as the backend. The
CLI's ``targets.swarm`` prints; nothing here does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stackup.core.model import Project
    from stackup.core.plan import Plan
    from stackup.core.swarm_observed import SwarmObserved
    from stackup.loader.loader import LoadOptions
    from stackup.ports.swarm import SwarmPort
    from stackup.run.events import Event, Outcome
    from stackup.swarm.reconcile import SwarmUpOptions


def load(options: LoadOptions, services: tuple[str, ...] = ()
         ) -> tuple[Project, Any, list[str]]:
    """(project, located tree, warnings) from ONE load: the tree gives refusals their lines."""
    from stackup.loader.loader import load_tree
    from stackup.loader.parse import parse_project

    loaded = load_tree(options)
    warnings = list(loaded.warnings)
    project = parse_project(loaded.tree, project_name=loaded.project_name,
                            working_dir=loaded.working_dir, environ=loaded.environment,
                            profiles=loaded.profiles, requested_services=services,
                            config_files=loaded.files, warnings=warnings,
                            scopes=loaded.scopes)
    return project, loaded.tree, warnings


def observe(swarm: SwarmPort, project: Project, *, tasks: bool = False) -> SwarmObserved:
    """The swarm's snapshot of this project, with the external objects it names."""
    names = {"networks": [n.name for n in project.networks.values()],
             "volumes": [v.name for v in project.volumes.values()],
             "secrets": [s.name for s in project.secrets.values() if s.external],
             "configs": [c.name for c in project.configs.values() if c.external]}
    return swarm.observe(project.name, names=names, tasks=tasks,
                         images={s.image_ref(project.name) for s in project.services.values()})


def make_plan(swarm: SwarmPort, project: Project, tree: Any, options: SwarmUpOptions
              ) -> tuple[Plan, SwarmObserved]:
    """What ``up`` would do, after refusing what a swarm cannot do (with its line)."""
    from stackup.swarm import plan_up, refuse

    observed = observe(swarm, project)
    refuse(project, tree, nodes=observed.nodes)
    return plan_up(project, observed, options), observed


def run(plan: Plan, swarm: SwarmPort, *, parallel: int, wait_timeout: float | None,
        on_event: Callable[[Event], None]) -> Outcome:
    """Execute a Swarm plan; the outcome has the failures, which are never raised."""
    from stackup.app.containers import RunOptions, run_with

    return run_with(plan, swarm, RunOptions(parallel=parallel, wait_timeout=wait_timeout),
                    on_event)
