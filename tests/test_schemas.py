"""The JSON Schemas that `stackup schema` prints hold what stackup writes: plans of every shape
(from reconcile, swarm included), saved plans, progress events; and they reject documents that
are not. Also the README's policy check (deny a plan that removes a volume) with jq, or its
Python equivalent where jq is missing. The real-engine runs are in
tests/integration/test_plan_json_schema.py."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from stackup.app import planfile
from stackup.cli.commands.schema import schema
from stackup.cli.views.progress import Progress
from stackup.core.model import BuildSpec, FrozenMap, Mount, Volume
from stackup.core.plan import Kind, Plan
from stackup.core.render import plan_json
from stackup.reconcile import UpOptions, plan_down, plan_up
from stackup.run.events import Event, Outcome
from tests.test_reconcile import converged, make_project, observed, svc
from tests.swarm.test_reconcile import plan_for

STACKUP = str(Path(sys.executable).parent / "stackup")
# the README's policy check on a saved plan (`plan --out FILE`), word for word
POLICY = ('[.plan.operations[] | select(.action == "remove_volume" or .remove_volumes)] '
          '| length == 0')


def validator(name: str) -> jsonschema.Draft202012Validator:
    document = schema(name)
    jsonschema.Draft202012Validator.check_schema(document)
    return jsonschema.Draft202012Validator(
        document, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def assert_valid(name: str, document: Any) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}"
              for e in validator(name).iter_errors(document)]
    assert not errors, errors


DATA = make_project(svc("db", volumes=(Mount("volume", "/data", source="data"),)),
                    svc("web", image=None, build=BuildSpec("/w/web")),
                    volumes={"data": Volume("data", "demo_data")})


def plans() -> list[Plan]:
    changed = make_project(svc("db", environment=FrozenMap({"V": "2"}),
                               volumes=(Mount("volume", "/data", source="data"),)),
                           svc("web", image=None, build=BuildSpec("/w/web")),
                           volumes={"data": Volume("data", "demo_data")})
    return [plan_up(DATA, observed(DATA, resources=False)),
            plan_up(changed, converged(DATA), UpOptions(build=True)),
            plan_up(DATA, converged(DATA), UpOptions(scale=FrozenMap({"db": 3}), wait=True)),
            plan_down(DATA, converged(DATA), remove_volumes=True), Plan("demo")]


def test_the_schemas_are_valid_and_printed_by_the_command() -> None:
    for name in ("plan", "saved-plan", "progress"):
        printed = subprocess.run([STACKUP, "schema", name], capture_output=True, text=True,
                                 check=True).stdout
        assert json.loads(printed) == schema(name)
        validator(name)
    assert schema("saved-plan")["$defs"]["plan"]["$id"].endswith("/plan.json")


def test_plans_of_every_shape_validate(tmp_path: Path) -> None:
    for plan in plans():
        assert_valid("plan", plan_json(plan))
    _, swarm_plan = plan_for(tmp_path)
    assert_valid("plan", plan_json(swarm_plan))


def test_a_saved_plan_validates() -> None:
    plan = plans()[1]
    prints = planfile.fingerprints(DATA, converged(DATA), {"demo-web": "sha256:" + "0" * 64})
    text = planfile.dump(plan, prints, version="0.1.0", created="2026-12-06T10:00:00Z")
    assert_valid("saved-plan", json.loads(text))


def test_progress_events_validate() -> None:
    stream = io.StringIO()
    progress = Progress("json", stream)
    plan = plans()[0]
    for op in plan.operations[:3]:
        for phase in ("started", "done"):
            progress.on_event(Event(op.op_id, op.kind, op.subject, op.service_name, phase,
                                    op.cause, 0.0 if phase == "started" else 0.25))
    progress.on_event(Event("build_image:demo-web", Kind.BUILD_IMAGE, "demo-web", "web",
                            "output", "--build", 0.1, output="Step 1/2 : FROM busybox"))
    progress.on_event(Event("run_hook:web:1", Kind.RUN_HOOK, "demo-web-1", "web", "failed",
                            "post_start", 0.5, error="exit 1"))
    op = plan.operations[3]
    progress.on_event(Event(op.op_id, op.kind, op.subject, op.service_name, "not_run",
                            op.cause, 0.0))
    progress.on_event(Event("", Kind.GATE, "demo", None, "stopping", "SIGINT", 0.0))
    progress.summary(plan, Outcome(done=plan.operations[:3]))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 11
    for line in lines:
        record = json.loads(line)
        assert_valid("progress", record)
        assert record["time"].endswith("Z")


@pytest.mark.parametrize(("name", "document", "why"), [
    ("plan", {"version": 2, "project": "demo", "changes": False, "operations": [], "notes": [],
              "up_to_date": [], "services": {}}, "'summary' is a required property"),
    ("plan", "with an operation that has a new field", "Additional properties"),
    ("progress", {"time": "2026-12-06T10:00:00.000Z", "id": "x", "action": "create_container",
                  "resource": "container", "verb": "create", "name": "x", "service": None,
                  "phase": "finished", "cause": "", "seconds": 0, "error": None}, "finished"),
    ("progress", {"time": "yesterday", "action": "kill", "name": "x", "phase": "done"},
     "does not match"),
    ("saved-plan", {"format": "stackup-plan", "version": 1}, "is not valid under any"),
])
def test_invalid_documents_are_rejected(name: str, document: Any, why: str) -> None:
    if document == "with an operation that has a new field":
        document = plan_json(plans()[0])
        document["operations"][0]["surprise"] = True
    errors = list(validator(name).iter_errors(document))
    assert errors
    assert any(why in e.message or any(why in c.message for c in e.context or ())
               for e in errors), [e.message for e in errors]


def policy_allows(saved: dict[str, Any]) -> bool:
    """The README's check: `jq -e POLICY plan.saved` exits 0 (allowed) or 1 (denied)."""
    jq = shutil.which("jq")
    if jq is None:  # the same rule in Python
        return not [op for op in saved["plan"]["operations"]
                    if op["action"] == "remove_volume" or op["remove_volumes"]]
    result = subprocess.run([jq, "-e", POLICY], input=json.dumps(saved), capture_output=True,
                            text=True)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode == 0


def test_the_readme_policy_denies_a_plan_that_removes_a_volume() -> None:
    def saved(plan: Plan) -> dict[str, Any]:
        return {"format": "stackup-plan", "plan": plan_json(plan)}

    up_plan, _, _, down_volumes, _ = plans()
    assert policy_allows(saved(up_plan))
    assert plan_json(down_volumes)["summary"]["volumes"]["remove"] == 1
    assert not policy_allows(saved(down_volumes))
    keeps_volumes = plan_down(DATA, converged(DATA))
    assert policy_allows(saved(keeps_volumes))
    anonymous = plan_down(DATA, converged(DATA), remove_volumes=True)
    only_anonymous = Plan("demo", tuple(op for op in anonymous.operations
                                        if op.kind is not Kind.REMOVE_VOLUME))
    assert not policy_allows(saved(only_anonymous))  # remove_container with its volumes
