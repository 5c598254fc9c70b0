"""render: the canonical plan text and the documented JSON."""

from __future__ import annotations

import json

from stackup.model import Network, Service
from stackup.plan import Kind, Operation, Plan
from stackup.render import plan_json, plan_text

WEB = Service("web", image="nginx")
DB = Service("db", image="postgres")
NET = Network("default", "demo_default")

PLAN = Plan("demo", (
    Operation("create_network:default", Kind.CREATE_NETWORK, "not found", network=NET),
    Operation("wait_healthy:db", Kind.WAIT_HEALTHY, "depends_on condition of web", service=DB),
    Operation("recreate_container:web:1", Kind.RECREATE_CONTAINER, "environment.VERSION changed",
              depends_on=("create_network:default", "wait_healthy:db"), service=WEB, number=1,
              container_name="demo-web-1", container_id="abc"),
    Operation("remove_container:web:3", Kind.REMOVE_CONTAINER, "replica 3 above scale 2",
              service=WEB, number=3, container_name="demo-web-3", container_id="def"),
    Operation("start_container:web:2", Kind.START_CONTAINER, "exited (0)", service=WEB, number=2,
              container_name="demo-web-2", container_id="ghi"),
    Operation("remove_volume:demo_data", Kind.REMOVE_VOLUME, "down", name="demo_data"),
), notes=("Found orphan containers (demo-old-1) for this project.",), up_to_date=("demo-db-1",))


def test_text_is_aligned_one_line_per_operation() -> None:
    assert plan_text(PLAN) == """\
+ network  demo_default  not found
. wait     db healthy    depends_on condition of web
~ recreate demo-web-1    environment.VERSION changed
- remove   demo-web-3    replica 3 above scale 2
> start    demo-web-2    exited (0)
- volume   demo_data     down
! Found orphan containers (demo-old-1) for this project.
"""


def test_empty_plan_text() -> None:
    assert plan_text(Plan("demo")) == "No changes: 0 containers up to date.\n"
    waits_only = Plan("demo", (PLAN.operations[1],), up_to_date=("demo-db-1",))
    assert plan_text(waits_only) == "No changes: 1 container up to date.\n"


def test_json_is_documented_and_serialisable() -> None:
    data = plan_json(PLAN)
    assert json.loads(json.dumps(data)) == data
    assert data["project"] == "demo" and data["changes"] is True and data["version"] == 1
    assert data["operations"][2] == {
        "id": "recreate_container:web:1", "action": "recreate_container",
        "resource": "container", "service": "web", "number": 1, "name": "demo-web-1",
        "cause": "environment.VERSION changed",
        "depends_on": ["create_network:default", "wait_healthy:db"], "start_after": []}
    assert data["operations"][1]["resource"] == "service"
    assert data["operations"][1]["name"] == "db"
    assert data["operations"][0]["resource"] == "network"
    assert data["notes"] == list(PLAN.notes) and data["up_to_date"] == ["demo-db-1"]
    assert plan_json(Plan("demo"))["changes"] is False
