"""render: the canonical plan text and the documented JSON (version 2)."""

from __future__ import annotations

import json

from stackup.core.model import Network, Service
from stackup.core.plan import Change, Kind, Operation, Plan
from stackup.core.render import plan_json, plan_text

WEB = Service("web", image="nginx")
DB = Service("db", image="postgres")
NET = Network("default", "demo_default")

PLAN = Plan("demo", (
    Operation("create_network:default", Kind.CREATE_NETWORK, "not found", network=NET),
    Operation("wait_healthy:db", Kind.WAIT_HEALTHY, "depends_on condition of web", service=DB,
              watch=("demo-db-1",)),
    Operation("create_container:web:1", Kind.CREATE_CONTAINER, "environment.VERSION changed",
              depends_on=("create_network:default",), service=WEB, number=1,
              container_name="demo-web-1", config_hash="h1", image="nginx",
              changes=(Change("environment.VERSION", '"1"', '"2"'),
                       Change("environment.TOKEN", None, None, sensitive=True))),
    Operation("start_container:web:1", Kind.START_CONTAINER, "environment.VERSION changed",
              depends_on=("create_container:web:1", "wait_healthy:db"), service=WEB, number=1,
              container_name="demo-web-1"),
    Operation("remove_volume:demo_data", Kind.REMOVE_VOLUME, "down", name="demo_data"),
), notes=("Found orphan containers (demo-old-1) for this project.",), up_to_date=("demo-db-1",))


def test_text_numbers_operations_and_shows_direct_edges() -> None:
    assert plan_text(PLAN) == """\
#1 + network demo_default  not found
#2 . wait    db healthy    depends_on condition of web
#3 + create  demo-web-1    environment.VERSION changed  <- #1
#4 > start   demo-web-1    environment.VERSION changed  <- #3 #2
#5 - volume  demo_data     down
Plan: 1 to create, 1 to create network, 1 to remove volume.
! Found orphan containers (demo-old-1) for this project.
"""


def test_diff_shows_old_and_new_values_and_hides_sensitive_ones() -> None:
    text = plan_text(PLAN, diff=True)
    assert '      environment.VERSION: "1" → "2"\n' in text
    assert "      environment.TOKEN: (sensitive value changed)\n" in text


def test_empty_plan_text() -> None:
    assert plan_text(Plan("demo")) == "No changes: 0 containers up to date.\n"
    waits_only = Plan("demo", (PLAN.operations[1],), up_to_date=("demo-db-1",))
    assert plan_text(waits_only) == "No changes: 1 container up to date.\n"


def test_json_is_documented_and_serialisable() -> None:
    data = plan_json(PLAN)
    assert json.loads(json.dumps(data)) == data
    assert data["project"] == "demo" and data["changes"] is True and data["version"] == 2
    create = data["operations"][2]
    assert create["id"] == "create_container:web:1" and create["action"] == "create_container"
    assert create["depends_on"] == ["create_network:default"]
    assert create["config_hash"] == "h1" and create["image"] == "nginx"
    assert create["changes"][0] == {"path": "environment.VERSION", "old": '"1"', "new": '"2"',
                                    "sensitive": False}
    assert data["operations"][1]["resource"] == "service"
    assert data["operations"][1]["watch"] == ["demo-db-1"]
    assert data["operations"][0]["network"] == "default"
    assert data["notes"] == list(PLAN.notes) and data["up_to_date"] == ["demo-db-1"]
    assert plan_json(Plan("demo"))["changes"] is False
