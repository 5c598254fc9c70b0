"""Issue 8, "what plan prints is what up runs": for many scenarios, the operations that run are
exactly the planned ones (each once), the conditional ones that did not have to run are reported
not needed, every engine call belongs to a planned operation, and a second plan is empty.

Fast on the FakeEngine (the plan from ``reconcile.plan_up`` over ``app.observe``, run by
``execute``); then through the CLI on the real engine (``plan --format json``, then
``--progress json up -d``) for a cold up and for an environment change.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from stackup import reconcile
from stackup.app import containers as app
from stackup.app.container_backend import ContainerBackend
from stackup.testing.fake import FakeEngine
from stackup.run.events import Event, Outcome
from stackup.run.execute import execute
from stackup.core.model import (
    BuildSpec,
    Dependency,
    FrozenMap,
    Healthcheck,
    Mount,
    Network,
    Project,
    Service,
    ServiceNetwork,
    Volume,
)
from stackup.core.plan import EXECUTOR_KINDS, WAIT_KINDS, Plan
from stackup.reconcile import UpOptions

BUSYBOX = "sha256:" + "b" * 64
NGINX = "sha256:" + "1" * 64
NGINX_NEW = "sha256:" + "2" * 64
TERMINAL = ("done", "failed", "skipped", "not_needed")
MUTATING = {"create_network", "create_volume", "remove_network", "remove_volume", "build_image",
            "pull_image", "push_image", "create_container", "start_container", "stop_container",
            "restart_container", "rename_container", "remove_container"}


def svc(name: str, *deps: Dependency, **kw: Any) -> Service:
    kw.setdefault("image", "busybox:local")
    return Service(name, networks=(ServiceNetwork("default"),), depends_on=deps, **kw)


def make_project(*services: Service) -> Project:
    return Project("demo", "/w", services=FrozenMap({s.name: s for s in services}),
                   networks=FrozenMap({"default": Network("default", "demo_default")}),
                   volumes=FrozenMap({"data": Volume("data", "demo_data")}))


BASE = make_project(
    svc("db", volumes=(Mount("volume", "/data", "data"), Mount("volume", "/anon")),
        healthcheck=Healthcheck(test=("CMD", "true")), environment=FrozenMap({"DB": "1"})),
    svc("api", Dependency("db", "service_healthy", restart=True),
        environment=FrozenMap({"VERSION": "1"})),
    svc("web", Dependency("api"), image="nginx:1"),
    svc("app", Dependency("api"), image=None, build=BuildSpec("/w/app")),
    svc("worker", Dependency("db")),
    # as the loader makes it: network_mode service:api implies depends_on api, no networks
    Service("sidecar", image="busybox:local", network_mode="service:api",
            depends_on=(Dependency("api"),)))


def edit(project: Project, service: str, **changes: Any) -> Project:
    return dataclasses.replace(project, services=FrozenMap({
        **project.services, service: dataclasses.replace(project.services[service], **changes)}))


def without(project: Project, service: str) -> Project:
    return dataclasses.replace(project, services=FrozenMap(
        {k: v for k, v in project.services.items() if k != service}))


class ReproducibleBuilds(FakeEngine):
    """Builds give the image id the tag already has (a fully cached build)."""

    def build_image(self, service_name: str, build: BuildSpec, tag: str, **kw: Any) -> str:
        known = self.images.get(tag)
        built = super().build_image(service_name, build, tag, **kw)
        if known is not None:
            self.images[tag] = built = known
        return built


def fake(cls: type[FakeEngine] = FakeEngine) -> FakeEngine:
    engine = cls(images={"busybox:local": BUSYBOX}, auto_images=False)
    engine.registry.update({"nginx:1": NGINX, "busybox:local": BUSYBOX})
    return engine


def run(project: Project, engine: FakeEngine, options: UpOptions
        ) -> tuple[Plan, Outcome, list[Event]]:
    plan = reconcile.plan_up(project, app.observe(project, engine), options)
    events: list[Event] = []

    async def main() -> Outcome:
        return await execute(plan, ContainerBackend(engine), poll_interval=0.005,
                             on_event=events.append)

    return plan, anyio.run(main), events


def converge(engine: FakeEngine, project: Project, options: UpOptions | None = None) -> None:
    _, outcome, _ = run(project, engine, options or UpOptions())
    assert outcome.ok, outcome.failed


def assert_plan_is_what_ran(project: Project, engine: FakeEngine, options: UpOptions,
                            then: UpOptions) -> tuple[Plan, set[str]]:
    """Run the plan of ``options``; check what ran against it; check that ``then`` (the same
    options without the one-time flags) plans nothing afterwards. Returns the plan and the ids
    of the operations that were not needed."""
    calls = len(engine.calls)
    plan, outcome, events = run(project, engine, options)
    planned = [op.op_id for op in plan.operations]
    assert len(set(planned)) == len(planned), "operation ids are unique"
    assert outcome.ok, (outcome.failed, outcome.skipped)
    finished = Counter(e.op_id for e in events if e.phase in TERMINAL)
    assert finished == Counter(planned), "each planned operation finishes exactly once"
    ran = {e.op_id for e in events if e.phase in ("done", "failed")}
    not_needed = {e.op_id for e in events if e.phase == "not_needed"}
    assert ran | not_needed == set(planned) and not ran & not_needed
    started = Counter(e.op_id for e in events if e.phase == "started")
    assert started == Counter(ran), "what ran started once; what was not needed never started"
    assert all(plan.operation(i).conditional for i in not_needed), \
        "only restore steps and conditional replacements may be not needed"
    # the executor decides nothing: one engine call per operation that ran, and no other
    made = sorted(c.method for c in engine.calls[calls:] if c.method in MUTATING)
    assert made == sorted(plan.operation(i).kind.value for i in ran
                          if plan.operation(i).kind not in WAIT_KINDS | EXECUTOR_KINDS)
    again = reconcile.plan_up(project, app.observe(project, engine), then)
    assert again.operations == (), [op.op_id for op in again.operations]
    return plan, not_needed


def restore_ids(plan: Plan) -> set[str]:
    return {op.op_id for op in plan.operations if op.if_failed}


# Each scenario: (engine, what to converge first) → (project, options of the plan under test,
# options of the second plan) and a check of the plan's shape.
Setup = Callable[[], tuple[FakeEngine, Project, UpOptions, UpOptions]]


def cold() -> tuple[FakeEngine, Project, UpOptions, UpOptions]:
    return fake(), BASE, UpOptions(), UpOptions()


def env_changed() -> tuple[FakeEngine, Project, UpOptions, UpOptions]:
    engine = fake()
    converge(engine, BASE)
    return engine, edit(BASE, "api", environment=FrozenMap({"VERSION": "2"})), UpOptions(), \
        UpOptions()


def scale_up() -> tuple[FakeEngine, Project, UpOptions, UpOptions]:
    engine = fake()
    converge(engine, BASE)
    options = UpOptions(scale=FrozenMap({"worker": 3}))
    return engine, BASE, options, options


def scale_down() -> tuple[FakeEngine, Project, UpOptions, UpOptions]:
    engine = fake()
    converge(engine, BASE, UpOptions(scale=FrozenMap({"worker": 3})))
    return engine, BASE, UpOptions(), UpOptions()


def orphans() -> tuple[FakeEngine, Project, UpOptions, UpOptions]:
    engine = fake()
    converge(engine, BASE)
    options = UpOptions(remove_orphans=True)
    return engine, without(BASE, "worker"), options, options


def restart_dependents() -> tuple[FakeEngine, Project, UpOptions, UpOptions]:
    engine = fake()
    converge(engine, BASE)
    return engine, edit(BASE, "db", environment=FrozenMap({"DB": "2"})), UpOptions(), \
        UpOptions()


def force_recreate() -> tuple[FakeEngine, Project, UpOptions, UpOptions]:
    engine = fake()
    converge(engine, BASE)
    return engine, BASE, UpOptions(force_recreate=True), UpOptions()


def build_changes_image() -> tuple[FakeEngine, Project, UpOptions, UpOptions]:
    engine = fake()
    converge(engine, BASE)
    return engine, BASE, UpOptions(build=True), UpOptions()


def build_same_image() -> tuple[FakeEngine, Project, UpOptions, UpOptions]:
    engine = fake(ReproducibleBuilds)
    converge(engine, BASE)
    return engine, BASE, UpOptions(build=True), UpOptions()


def pull_changes_image() -> tuple[FakeEngine, Project, UpOptions, UpOptions]:
    engine = fake()
    converge(engine, BASE)
    engine.registry["nginx:1"] = NGINX_NEW
    return engine, BASE, UpOptions(pull="always"), UpOptions()


def pull_same_image() -> tuple[FakeEngine, Project, UpOptions, UpOptions]:
    engine = fake()
    converge(engine, BASE)
    return engine, BASE, UpOptions(pull="always"), UpOptions()


def _replaced(plan: Plan) -> set[str]:
    return {op.op_id.split(":")[1] for op in plan.operations
            if op.op_id.endswith(":replaced")}


def _replaced_now(plan: Plan, not_needed: set[str]) -> set[str]:
    return {op.op_id.split(":")[1] for op in plan.operations
            if op.op_id.endswith(":replaced") and op.op_id not in not_needed}


def _ids_of(plan: Plan, kind: str) -> set[str]:
    return {op.op_id for op in plan.operations if op.kind.value == kind and not op.if_failed}


SCENARIOS: dict[str, tuple[Setup, Callable[[Plan, set[str]], None]]] = {
    "cold up": (cold, lambda plan, nn: (
        _replaced(plan) == set() and nn == set()
        and len(_ids_of(plan, "create_container")) == 6
        and _ids_of(plan, "build_image") == {"build_image:demo-app"}
        and _ids_of(plan, "pull_image") == {"pull_image:nginx:1"})),
    "one env key changed": (env_changed, lambda plan, nn: (
        _replaced(plan) == {"api", "sidecar"} and nn == restore_ids(plan))),  # sidecar: network_mode service:api
    "scale up": (scale_up, lambda plan, nn: (
        _ids_of(plan, "create_container") == {"create_container:worker:2",
                                              "create_container:worker:3"} and nn == set())),
    "scale down": (scale_down, lambda plan, nn: (
        _ids_of(plan, "remove_container") == {"remove_container:worker:2",
                                              "remove_container:worker:3"} and nn == set())),
    "orphans removed": (orphans, lambda plan, nn: (
        _ids_of(plan, "remove_container") == {"remove_container:worker:1"} and nn == set())),
    "depends_on restart": (restart_dependents, lambda plan, nn: (
        _replaced(plan) == {"db"} and nn == restore_ids(plan)
        and _ids_of(plan, "restart_container") == {"restart_container:api:1"})),
    "force-recreate": (force_recreate, lambda plan, nn: (
        _replaced(plan) == {"db", "api", "web", "app", "worker", "sidecar"}
        and nn == restore_ids(plan))),
    "build, new image": (build_changes_image, lambda plan, nn: (
        _replaced(plan) == {"app"} and _replaced_now(plan, nn) == {"app"}
        and nn == restore_ids(plan))),
    "build, same image": (build_same_image, lambda plan, nn: (
        _replaced(plan) == {"app"}
        and nn == {op.op_id for op in plan.operations if op.conditional}
        and len(nn) == 8)),
    # --pull always pulls busybox:local too: every container may be replaced, only web is
    "pull, new image": (pull_changes_image, lambda plan, nn: (
        _replaced(plan) == {"db", "api", "web", "worker", "sidecar"}
        and _replaced_now(plan, nn) == {"web"}
        and _ids_of(plan, "pull_image") == {"pull_image:nginx:1", "pull_image:busybox:local"})),
    "pull, same image": (pull_same_image, lambda plan, nn: (
        _replaced(plan) == {"db", "api", "web", "worker", "sidecar"}
        and nn == {op.op_id for op in plan.operations if op.conditional})),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_what_runs_is_exactly_what_was_planned(scenario: str) -> None:
    setup, shape = SCENARIOS[scenario]
    engine, project, options, then = setup()
    plan, not_needed = assert_plan_is_what_ran(project, engine, options, then)
    assert shape(plan, not_needed), (sorted(not_needed), [op.op_id for op in plan.operations])


def test_what_was_replaced_after_a_build_or_pull_is_what_changed() -> None:
    """The conditional replacements act on the image id, not on a fresh decision."""
    engine = fake()
    converge(engine, BASE)
    before = {c.name: (c.container_id, c.image_id) for c in engine.containers.values()}
    engine.registry["nginx:1"] = NGINX_NEW
    assert_plan_is_what_ran(BASE, engine, UpOptions(pull="always", build=True), UpOptions())
    after = {c.name: (c.container_id, c.image_id) for c in engine.containers.values()}
    assert after.keys() == before.keys()
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {"demo-web-1", "demo-app-1"}
    assert after["demo-web-1"][1] == NGINX_NEW


# --- the same promise through the CLI, on the real engine -------------------------------------

STACKUP = str(Path(sys.executable).parent / "stackup")
LOOP = "trap 'exit 0' TERM; while :; do sleep 0.2; done"


def _compose(folder: Path, version: str) -> None:
    (folder / "compose.yaml").write_text(textwrap.dedent(f"""\
        services:
          db:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            stop_grace_period: 2s
          api:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            stop_grace_period: 2s
            environment:
              VERSION: "{version}"
            depends_on: [db]
          web:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            stop_grace_period: 2s
            depends_on: [api]
        """))


def _stackup(folder: Path, project: str, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([STACKUP, "-p", project, "-f", str(folder / "compose.yaml"), *args],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"stackup {' '.join(args)}: {done.returncode}\n" \
                                 f"{done.stdout}\n{done.stderr}"
    return done


def _plan_then_up(folder: Path, project: str) -> tuple[dict[str, Any], dict[str, set[str]]]:
    planned = json.loads(_stackup(folder, project, "--progress", "quiet", "plan", "--format",
                                  "json").stdout)
    up = _stackup(folder, project, "--progress", "json", "up", "-d")
    records = [json.loads(line) for line in up.stderr.splitlines() if line.startswith("{")]
    phases: dict[str, set[str]] = {}
    for record in records:
        if "id" in record:
            phases.setdefault(record["phase"], set()).add(record["id"])
    return planned, phases


def _check(planned: dict[str, Any], phases: dict[str, set[str]]) -> set[str]:
    ops = {op["id"]: op for op in planned["operations"]}
    not_needed = phases.get("not_needed", set())
    assert not phases.get("failed") and not phases.get("skipped"), phases
    assert not_needed <= {i for i, op in ops.items() if op["if_failed"] or op["when_image"]}
    assert phases.get("done", set()) == set(ops) - not_needed
    assert phases.get("started", set()) == phases.get("done", set())
    return not_needed


def test_cli_plan_json_is_what_up_runs(docker_engine: object, project_name: str,
                                       tmp_path: Path) -> None:
    _compose(tmp_path, "1")
    planned, phases = _plan_then_up(tmp_path, project_name)
    assert _check(planned, phases) == set()
    assert {op["id"] for op in planned["operations"]} >= {
        "create_network:default", "create_container:db:1", "start_container:web:1"}

    _compose(tmp_path, "2")
    planned, phases = _plan_then_up(tmp_path, project_name)
    not_needed = _check(planned, phases)
    assert not_needed == {"restore:remove_container:api:1", "restore:rename_container:api:1",
                          "restore:start_container:api:1"}
    assert phases["done"] == {"stop_container:api:1", "rename_container:api:1",
                              "create_container:api:1", "start_container:api:1",
                              "remove_container:api:1:replaced"}
    again = json.loads(_stackup(tmp_path, project_name, "plan", "--format", "json").stdout)
    assert again["changes"] is False and again["operations"] == []
