"""Helpers for the pure Swarm tests: load a stack file from text, and play a plan onto an
observed snapshot the way the engine would (so that "the second plan is empty" can be tested
without an engine)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from stackup.loader.loader import LoadOptions, load_tree
from stackup.loader.parse import parse_project
from stackup.core.model import FrozenMap, Project
from stackup.core.plan import Kind, Plan
from stackup.core.swarm_observed import SwarmObject, SwarmObserved, SwarmService


def load(folder: Path, text: str, environ: dict[str, str] | None = None
         ) -> tuple[Project, Any]:
    """(project, located tree) of ``text`` written as compose.yaml in ``folder``."""
    path = folder / "compose.yaml"
    path.write_text(textwrap.dedent(text))
    loaded = load_tree(LoadOptions(files=(str(path),), environ=environ or {}, cwd=str(folder)))
    project = parse_project(loaded.tree, project_name=loaded.project_name,
                            working_dir=loaded.working_dir, environ=loaded.environment,
                            profiles=loaded.profiles, requested_services=(),
                            config_files=loaded.files, warnings=[])
    return project, loaded.tree


def applied(observed: SwarmObserved, plan: Plan) -> SwarmObserved:
    """``observed`` after every operation of ``plan`` succeeded (as the engine would have it)."""
    services = {s.key: s for s in observed.services}
    sections: dict[str, dict[str, SwarmObject]] = {
        name: {o.name: o for o in getattr(observed, name)}
        for name in ("networks", "secrets", "configs", "volumes")}
    for op in plan.operations:
        kind = op.kind
        if kind in (Kind.CREATE_SERVICE, Kind.UPDATE_SERVICE):
            assert op.service is not None and op.config_json is not None
            spec = json.loads(op.config_json)
            old = services.get(op.service.name)
            container = spec["TaskTemplate"]["ContainerSpec"]
            services[op.service.name] = SwarmService(
                name=spec["Name"], service_id=old.service_id if old else f"id-{op.name}",
                version=(old.version + 1) if old else 1, key=op.service.name,
                labels=FrozenMap(spec["Labels"]), applied=op.config_json,
                applied_hash=op.config_hash,
                replicas=spec["Mode"].get("Replicated", {}).get("Replicas"),
                update_state="completed" if old else None,
                secrets=tuple(s["SecretName"] for s in container.get("Secrets", ())),
                configs=tuple(c["ConfigName"] for c in container.get("Configs", ())),
                image=container["Image"], image_id=observed.images.get(container["Image"]))
        elif kind is Kind.REMOVE_SERVICE:
            services = {k: s for k, s in services.items() if s.name != op.name}
        elif kind in (Kind.CREATE_SECRET, Kind.CREATE_CONFIG):
            spec = json.loads(op.config_json or "{}")
            section = "secrets" if kind is Kind.CREATE_SECRET else "configs"
            sections[section][spec["Name"]] = SwarmObject(spec["Name"], "x", spec["Key"],
                                                          FrozenMap(spec["Labels"]))
        elif kind in (Kind.REMOVE_SECRET, Kind.REMOVE_CONFIG, Kind.REMOVE_NETWORK,
                      Kind.REMOVE_VOLUME):
            section = {Kind.REMOVE_SECRET: "secrets", Kind.REMOVE_CONFIG: "configs",
                       Kind.REMOVE_NETWORK: "networks", Kind.REMOVE_VOLUME: "volumes"}[kind]
            sections[section].pop(op.name or "", None)
        elif kind is Kind.CREATE_NETWORK:
            assert op.network is not None
            sections["networks"][op.network.name] = SwarmObject(op.network.name, "n",
                                                                op.network.key)
        elif kind is Kind.CREATE_VOLUME:
            assert op.volume is not None
            sections["volumes"][op.volume.name] = SwarmObject(op.volume.name, op.volume.name,
                                                              op.volume.key)
    return SwarmObserved(
        observed.project_name, observed.nodes,
        services=tuple(sorted(services.values(), key=lambda s: s.key)),
        networks=tuple(sorted(sections["networks"].values(), key=lambda o: o.name)),
        secrets=tuple(sorted(sections["secrets"].values(), key=lambda o: o.name)),
        configs=tuple(sorted(sections["configs"].values(), key=lambda o: o.name)),
        volumes=tuple(sorted(sections["volumes"].values(), key=lambda o: o.name)),
        external=observed.external, images=observed.images)
