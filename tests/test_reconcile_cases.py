"""Golden reconcile cases as data: one YAML file per case in ``tests/reconcile_cases/``.

Each file holds a stack (loaded by the real loader), the facts the engine reports, the
options, and the plan text expected. A new case needs no Python. Keys:

    about:        what the case shows (one line, for people)
    stack:        the compose file as it is now
    stack_before: (optional) the compose file the observed containers were created from
    command:      up (default) | down
    options:      UpOptions fields for up (force_recreate, scale: {web: 3}, ...), or
                  plan_down's keywords for down (remove_volumes, remove_orphans, named)
    observed:
      containers: [{service, number: 1, state: running, from: stack | stack_before,
                    networks: [engine names attached] (default: not said),
                    gone_networks: [engine names attached that are gone] (default: none)}]
      networks:   keys of the stack's networks that exist (default: every one); a key only
                  stack_before has names that one
      volumes:    keys of the stack's volumes that exist (default: every one); likewise
      images:     {ref: id or null} (default: every service's image present)
    plan:         the expected ``plan_text`` output

On a mismatch the failure shows the plan text produced, ready to paste after review.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackup.core.hashing import config_hash
from stackup.loader.loader import LoadOptions, load_project
from stackup.core.model import FrozenMap, Project
from stackup.core.observed import ObservedContainer, ObservedNetwork, ObservedState, ObservedVolume
from stackup.reconcile import UpOptions, plan_down, plan_up
from stackup.core.render import plan_text

CASES = sorted((Path(__file__).parent / "reconcile_cases").glob("*.yaml"))
IMAGE_ID = "sha256:" + "1" * 64


def _load(text: str, folder: Path) -> Project:
    options = LoadOptions(files=("-",), stdin=text, project_name="demo", cwd=str(folder),
                          project_directory=str(folder), environ={})
    return load_project(options).project


def _observed(facts: dict[str, Any], stacks: dict[str, Project]) -> ObservedState:
    project = stacks["stack"]
    containers = []
    for entry in facts.get("containers", []):
        source = stacks[entry.get("from", "stack")]
        service = source.services[entry["service"]]
        number = int(entry.get("number", 1))
        digest, text = config_hash(source, service)
        containers.append(ObservedContainer(
            f"{service.name}{number}".ljust(64, "0"), f"demo-{service.name}-{number}",
            service.name, number, entry.get("state", "running"), config_hash=digest,
            config=FrozenMap(json.loads(text)), image_id=IMAGE_ID,
            image_ref=service.image_ref("demo"),
            networks=tuple(entry["networks"]) if "networks" in entry else None,
            gone_networks=tuple(entry.get("gone_networks", ()))))
    before = stacks.get("stack_before", project)
    net_keys = facts.get("networks", list(project.networks))
    vol_keys = facts.get("volumes", list(project.volumes))
    nets = {**before.networks, **project.networks}
    vols = {**before.volumes, **project.volumes}
    networks = {nets[k].name: ObservedNetwork(nets[k].name, f"n-{k}", k, project="demo")
                for k in net_keys}
    volumes = {vols[k].name: ObservedVolume(vols[k].name, k, project="demo")
               for k in vol_keys}
    images = facts.get("images") or {s.image_ref("demo"): IMAGE_ID
                                     for s in project.services.values()}
    return ObservedState("demo", tuple(containers), FrozenMap(networks), FrozenMap(volumes),
                         FrozenMap(images))


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_case(path: Path, tmp_path: Path) -> None:
    case = yaml.safe_load(path.read_text())
    stacks = {"stack": _load(case["stack"], tmp_path)}
    if "stack_before" in case:
        stacks["stack_before"] = _load(case["stack_before"], tmp_path)
    observed = _observed(case.get("observed") or {}, stacks)
    options = dict(case.get("options") or {})
    if case.get("command", "up") == "down":
        plan = plan_down(stacks["stack"], observed, **options)
    else:
        if "scale" in options:
            options["scale"] = FrozenMap(options["scale"])
        plan = plan_up(stacks["stack"], observed, UpOptions(**options))
    produced = plan_text(plan).rstrip()
    assert produced == case["plan"].rstrip(), f"{path.name}: the plan produced was\n{produced}"


def test_there_are_cases() -> None:
    assert len(CASES) >= 5
