"""swarm.reconcile: a stack file and a hand-made SwarmObserved → the plan, as people read it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from stackup.core.errors import PlanError
from stackup.core.model import FrozenMap
from stackup.core.plan import Kind
from stackup.core.render import plan_json, plan_text
from stackup.core.swarm_observed import SwarmObject, SwarmObserved
from stackup.swarm import SwarmUpOptions, plan_down, plan_up

from tests.swarm.helpers import applied, load

STACK = """
    name: demo
    services:
      store:
        image: busybox:local
        healthcheck: {test: ["CMD", "true"], interval: 1s}
        volumes: [data:/data]
      migrate:
        image: busybox:local
        deploy: {mode: replicated-job}
        depends_on:
          store: {condition: service_healthy}
      api:
        image: busybox:local
        environment: {GREETING: hello, DB_PASSWORD: "${PW:-one}"}
        secrets: [token]
        depends_on:
          migrate: {condition: service_completed_successfully}
      web:
        image: busybox:local
        configs: [{source: index, target: /www/index.html}]
        ports: [{target: 80, published: 8081, mode: host}]
        deploy: {endpoint_mode: dnsrr, replicas: "${WEB_REPLICAS:-1}"}
        depends_on: [api]
    volumes:
      data: {}
    secrets:
      token: {environment: TOKEN}
    configs:
      index: {content: "<h1>hi</h1>"}
"""
IMAGES = FrozenMap({"busybox:local": "sha256:" + "1" * 64})


def plan_for(tmp_path: Path, observed: SwarmObserved | None = None, text: str = STACK,
             env: dict[str, str] | None = None, **options: object):  # type: ignore[no-untyped-def]
    project, _ = load(tmp_path, text, {"TOKEN": "t0k3n", **(env or {})})
    seen = observed or SwarmObserved("demo", images=IMAGES)
    return project, plan_up(project, seen, SwarmUpOptions(**options))  # type: ignore[arg-type]


def lines(plan) -> list[str]:  # type: ignore[no-untyped-def]
    return [" ".join(line.split()) for line in plan_text(plan).splitlines()]


def test_a_new_stack(tmp_path: Path) -> None:
    _, plan = plan_for(tmp_path)
    text = lines(plan)
    assert text[:4] == ["#1 + network demo_default not found",
                        "#2 + volume demo_data not found",
                        f"#3 + secret {plan.operations[2].name} not found",
                        f"#4 + config {plan.operations[3].name} not found"]
    assert plan.operations[2].name.startswith("demo_token-")
    assert text[4:] == [
        "#5 + service demo_store not found <- #1 #2",
        "#6 . wait store converged depends_on of migrate <- #5",
        "#7 + service demo_migrate not found <- #1 #6",
        "#8 . wait migrate completed depends_on of api <- #7",
        "#9 + service demo_api not found <- #1 #3 #8",
        "#10 . wait api converged depends_on of web <- #9",
        "#11 + service demo_web not found <- #1 #4 #10",
        "Plan: 1 to create network, 1 to create volume, 1 to create secret, 1 to create "
        "config, 4 to create service."]
    data = plan_json(plan)
    assert data["changes"] is True
    assert data["operations"][4]["resource"] == "service"
    assert data["operations"][4]["engine_name"] == "demo_store"
    assert "t0k3n" not in str(data)  # no secret content, anywhere in the plan's JSON


def test_a_converged_stack_plans_nothing(tmp_path: Path) -> None:
    _, first = plan_for(tmp_path)
    observed = applied(SwarmObserved("demo", images=IMAGES), first)
    _, second = plan_for(tmp_path, observed)
    assert second.empty, plan_text(second)
    assert plan_text(second).startswith("No changes")
    assert second.up_to_date == ("demo_api", "demo_migrate", "demo_store", "demo_web")


def converged(tmp_path: Path, **env: str) -> SwarmObserved:
    _, first = plan_for(tmp_path, env=env)
    return applied(SwarmObserved("demo", images=IMAGES), first)


def test_one_changed_variable_updates_one_service(tmp_path: Path) -> None:
    observed = converged(tmp_path)
    _, plan = plan_for(tmp_path, observed, STACK.replace("GREETING: hello", "GREETING: hi"))
    assert lines(plan) == ['#1 ~ update demo_api environment.GREETING: "hello" → "hi"',
                           "Plan: 1 to update service."]
    update = plan.operations[0]
    assert update.kind is Kind.UPDATE_SERVICE and update.depends_on == ()
    assert [(c.path, c.old, c.new) for c in update.changes] == [
        ("environment.GREETING", '"hello"', '"hi"')]


def test_a_sensitive_variable_is_never_shown(tmp_path: Path) -> None:
    observed = converged(tmp_path)
    _, plan = plan_for(tmp_path, observed, env={"PW": "s3cr3t-two"})
    assert lines(plan)[0] == "#1 ~ update demo_api environment.DB_PASSWORD: (sensitive value changed)"
    assert "s3cr3t-two" not in str(plan_json(plan)) and "one" not in plan.operations[0].cause


def test_scaling_is_an_update_of_the_replicas(tmp_path: Path) -> None:
    observed = converged(tmp_path)
    _, plan = plan_for(tmp_path, observed, env={"WEB_REPLICAS": "3"})
    assert lines(plan)[0] == "#1 ~ update demo_web deploy.replicas: 1 → 3"
    _, scaled = plan_for(tmp_path, observed, scale=FrozenMap({"web": 2}))
    assert lines(scaled)[0] == "#1 ~ update demo_web deploy.replicas: 1 → 2"


def test_replicas_changed_behind_stackups_back_are_put_back(tmp_path: Path) -> None:
    observed = converged(tmp_path)
    web = observed.service("web")
    assert web is not None
    drifted = dataclasses.replace(observed, services=tuple(
        dataclasses.replace(s, replicas=5) if s.key == "web" else s for s in observed.services))
    _, plan = plan_for(tmp_path, drifted)
    assert lines(plan)[0] == "#1 ~ update demo_web deploy.replicas: 5 (changed outside stackup) → 1"


def test_a_rotated_secret_is_a_new_object_and_the_old_one_goes_after_the_rollout(
        tmp_path: Path) -> None:
    observed = converged(tmp_path)
    old = observed.secrets[0].name
    project, plan = plan_for(tmp_path, observed, env={"TOKEN": "rotated"})
    new = plan.operations[0].name
    assert new != old and new.startswith("demo_token-")
    assert lines(plan) == [
        f"#1 + secret {new} content changed (was {old})",
        "#2 ~ update demo_api secrets.token: (sensitive value changed) <- #1",
        "#3 . wait api converged before old secrets/configs go <- #2",
        f"#4 - secret {old} replaced by {new} <- #3",
        "Plan: 1 to create secret, 1 to update service, 1 to remove secret."]
    after = applied(observed, plan)
    assert [s.name for s in after.secrets] == [new]
    _, again = plan_for(tmp_path, after, env={"TOKEN": "rotated"})
    assert again.empty, plan_text(again)


def test_wait_plans_a_wait_for_every_service(tmp_path: Path) -> None:
    observed = converged(tmp_path)
    _, plan = plan_for(tmp_path, observed, wait=True)
    assert plan.empty  # waits only: nothing changes
    assert [op.op_id for op in plan.operations] == [
        "wait_service:store", "wait_service:migrate", "wait_service:api", "wait_service:web"]
    assert plan.operations[1].kind is Kind.WAIT_SERVICE_COMPLETED  # a job completes


def test_orphans_are_noted_or_removed(tmp_path: Path) -> None:
    observed = converged(tmp_path)
    small = STACK.replace("depends_on: [api]", "").replace(
        "      web:\n", "      webx:\n")
    _, plan = plan_for(tmp_path, observed, small)
    assert "! service demo_web is not in the stack file (orphan); --remove-orphans removes it" \
        in lines(plan)
    _, removing = plan_for(tmp_path, observed, small, remove_orphans=True)
    kinds = [(op.kind, op.name) for op in removing.operations]
    assert (Kind.REMOVE_SERVICE, "demo_web") in kinds
    index_config = observed.configs[0].name
    assert (Kind.REMOVE_CONFIG, index_config) not in kinds  # webx uses the same config


def test_what_is_not_ours_is_never_adopted(tmp_path: Path) -> None:
    foreign = SwarmObserved("demo", images=IMAGES,
                            external=FrozenMap({"networks": frozenset({"demo_default"})}))
    with pytest.raises(PlanError, match="network demo_default exists and is not this project's"):
        plan_for(tmp_path, foreign)


def test_external_objects_must_exist(tmp_path: Path) -> None:
    text = STACK.replace("token: {environment: TOKEN}", "token: {external: true, name: tok}")
    with pytest.raises(PlanError, match="external secret tok not found"):
        plan_for(tmp_path, None, text)
    there = SwarmObserved("demo", images=IMAGES,
                          external=FrozenMap({"secrets": frozenset({"tok"})}))
    _, plan = plan_for(tmp_path, there, text)
    assert not [op for op in plan.operations if op.kind is Kind.CREATE_SECRET]
    assert '"SecretName":"tok"' in plan.operation("create_service:api").config_json


BUILT = """
    name: demo
    services:
      web:
        image: registry.example:5000/demo/web:1
        build: .
"""


def test_a_build_and_on_several_nodes_a_push(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    _, plan = plan_for(tmp_path, SwarmObserved("demo"), BUILT)
    assert [op.op_id for op in plan.operations] == [
        "create_network:default", "build_image:web", "create_service:web"]
    _, many = plan_for(tmp_path, SwarmObserved("demo", nodes=3), BUILT)
    assert [op.op_id for op in many.operations] == [
        "create_network:default", "build_image:web", "push_image:web", "create_service:web"]
    assert many.operation("create_service:web").depends_on == (
        "create_network:default", "push_image:web")


def test_a_rebuilt_image_updates_the_service_only_when_it_differs(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    images = FrozenMap({"registry.example:5000/demo/web:1": "sha256:" + "a" * 64})
    _, first = plan_for(tmp_path, SwarmObserved("demo", images=images), BUILT)
    observed = applied(SwarmObserved("demo", images=images), first)
    _, same = plan_for(tmp_path, observed, BUILT)
    assert same.empty
    _, rebuild = plan_for(tmp_path, observed, BUILT, build=True)
    update = rebuild.operation("update_service:web")
    assert update.when_image == ("build_image:web", "sha256:" + "a" * 64)
    assert "if #1 changes the image" in plan_text(rebuild)
    moved = dataclasses.replace(observed, images=FrozenMap(
        {"registry.example:5000/demo/web:1": "sha256:" + "b" * 64}))
    _, changed = plan_for(tmp_path, moved, BUILT)
    assert lines(changed)[0] == '#1 ~ update demo_web image_id: aaaaaaaaaaaa → bbbbbbbbbbbb'


def test_down_removes_everything_ours_after_the_services(tmp_path: Path) -> None:
    observed = converged(tmp_path)
    plan = plan_down("demo", observed, remove_volumes=False)
    removes = [op for op in plan.operations if op.kind is Kind.REMOVE_SERVICE]
    assert sorted(op.name for op in removes) == ["demo_api", "demo_migrate", "demo_store",
                                                  "demo_web"]
    others = [op for op in plan.operations if op.kind is not Kind.REMOVE_SERVICE]
    assert {op.kind for op in others} == {Kind.REMOVE_SECRET, Kind.REMOVE_CONFIG,
                                          Kind.REMOVE_NETWORK}
    assert all(set(op.depends_on) == {r.op_id for r in removes} for op in others)
    assert plan.notes == ("volumes kept: demo_data (down -v removes them)",)
    with_volumes = plan_down("demo", observed, remove_volumes=True)
    assert any(op.kind is Kind.REMOVE_VOLUME for op in with_volumes.operations)
    gone = applied(observed, with_volumes)
    assert not (gone.services or gone.networks or gone.secrets or gone.configs or gone.volumes)


def test_a_foreign_network_is_not_removed_by_down() -> None:
    observed = SwarmObserved("demo", networks=(SwarmObject("demo_default", "n1", "default"),))
    plan = plan_down("demo", observed, remove_volumes=True)
    assert [op.name for op in plan.operations] == ["demo_default"]  # only what observe owns


def test_a_saved_plan_applies_only_while_nothing_moved(tmp_path: Path) -> None:
    from stackup.core.errors import PlanFileError
    from stackup.swarm import saved

    observed = converged(tmp_path)
    options = SwarmUpOptions(scale=FrozenMap({"worker": 3}))
    _, plan = plan_for(tmp_path, observed, STACK.replace("GREETING: hello", "GREETING: hi"))
    text = saved.dump(plan, plan_json(plan), observed, options, version="0", created="now")
    assert "t0k3n" not in text
    body = saved.load(text, "p.json")
    assert saved.options_of(body) == options
    assert saved.moved(body, plan, observed) == []
    moved_on = dataclasses.replace(observed, services=tuple(
        dataclasses.replace(s, version=s.version + 1) if s.key == "web" else s
        for s in observed.services))
    assert saved.moved(body, plan, moved_on) == ["service:demo_web changed on the swarm"]
    _, other = plan_for(tmp_path, observed, STACK.replace("GREETING: hello", "GREETING: yo"))
    assert saved.moved(body, other, observed) == ["update_service:api changed in the plan"]
    with pytest.raises(PlanFileError, match="changed after it was made"):
        saved.load(text.replace('"now"', '"later"'), "p.json")
    with pytest.raises(PlanFileError, match="not complete JSON"):
        saved.load(text[:100], "p.json")


def test_a_service_running_an_image_built_for_another_rolls_with_it(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    text = BUILT + "      probe:\n        image: registry.example:5000/demo/web:1\n"
    images = FrozenMap({"registry.example:5000/demo/web:1": "sha256:" + "a" * 64})
    _, first = plan_for(tmp_path, SwarmObserved("demo", images=images), text)
    observed = applied(SwarmObserved("demo", images=images), first)
    _, rebuild = plan_for(tmp_path, observed, text, build=True)
    assert {op.op_id: op.when_image for op in rebuild.operations} == {
        "build_image:web": None,
        "update_service:probe": ("build_image:web", "sha256:" + "a" * 64),
        "update_service:web": ("build_image:web", "sha256:" + "a" * 64)}


def test_several_changes_are_named_and_shown_with_diff(tmp_path: Path) -> None:
    observed = converged(tmp_path)
    text = STACK.replace("GREETING: hello", "GREETING: hi").replace("interval: 1s",
                                                                    "interval: 2s")
    _, plan = plan_for(tmp_path, observed, text, env={"PW": "other"})
    assert lines(plan)[:2] == [
        '#1 ~ update demo_store healthcheck.Interval: "1s" → "2s"',
        "#2 ~ update demo_api environment.DB_PASSWORD, environment.GREETING changed"]
    diff = plan_text(plan, diff=True)
    assert "environment.DB_PASSWORD: (sensitive value changed)" in diff
    assert 'environment.GREETING: "hello" → "hi"' in diff and "other" not in diff
