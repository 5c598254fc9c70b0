"""History that helps choose: what each revision changed (secrets masked), no record for a run
that changed nothing, the saved plan's digest that makes a second ``apply`` "already applied",
and ``down -v`` finding the anonymous volumes stackup labelled."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import stackup
from stackup.app import revision_store, saved_plans
from stackup.app import planfile
from stackup.app import revisions as R
from stackup.testing.fake import FakeEngine
from stackup.run.events import Outcome
from stackup.core.labels import ANONYMOUS_VOLUME, PROJECT
from stackup.core.model import FrozenMap
from stackup.core.observed import ObservedContainer, ObservedState, ObservedVolume
from stackup.core.plan import Kind, Operation, Plan
from stackup.reconcile import plan_down
from stackup.core.render import plan_text

BASE = """
name: demo
services:
  web:
    image: busybox:local
    environment: {VERSION: "%s", API_TOKEN: "%s"}
    env_file: [./web.env]
    secrets: [tok]
%s
secrets:
  tok: {content: "%s"}
"""


def revision(tmp_path: Path, number: int, version: str, token: str, from_file: str,
             secret: str, extra: str = "") -> R.Revision:
    (tmp_path / "web.env").write_text(f"FROM_FILE={from_file}\n")
    (tmp_path / "compose.yaml").write_text(BASE % (version, token, extra, secret))
    project = stackup.load([str(tmp_path / "compose.yaml")], environ={})
    model, digests = R.recorded_model(project, {})
    record = R.Revision(project_name="demo", number=number, time="2026-01-01T00:00:00Z",
                        user="me@here", command="up", services=(), outcome="ok", reason="",
                        model=model, digests=digests, token="t",
                        env_file_keys=R.env_file_keys(project))
    return R.from_labels(R.to_labels(record))  # as `history` reads it back


WORKER = """  worker:
    image: busybox:local
"""


def test_changes_name_services_and_keys_and_never_show_a_secret(tmp_path: Path) -> None:
    first = revision(tmp_path, 1, "1", "tok-one-canary", "file-one-canary", "sec-one-canary")
    second = revision(tmp_path, 2, "2", "tok-two-canary", "file-two-canary", "sec-two-canary",
                      WORKER)
    changes = R.model_changes(first, second)
    assert R.changes_text(changes, limit=500) == ("web (environment.API_TOKEN, environment.FROM_FILE, "
                                       "environment.VERSION); +worker; secret tok (content)")
    shown = json.dumps([c.as_json() for c in changes]) + json.dumps(second.summary())
    assert "canary" not in shown  # the token, the env_file value, the secret: masked
    web = changes[0].as_json()["fields"]
    assert [(f["path"], f["sensitive"], f["old"], f["new"]) for f in web] == [
        ("environment.API_TOKEN", True, None, None), ("environment.FROM_FILE", True, None, None),
        ("environment.VERSION", False, '"1"', '"2"')]
    assert len(R.changes_text(changes, limit=40)) == 40
    assert R.changes_text(changes, limit=40).endswith("…")
    assert R.changes_text(R.model_changes(second, first), limit=500) == (
        "web (environment.API_TOKEN, environment.FROM_FILE, environment.VERSION); -worker; "
        "secret tok (content)")
    assert R.changes_text(R.model_changes(second, second)) == "(same model)"


def test_plan_digest_and_env_file_keys_round_trip(tmp_path: Path) -> None:
    base = revision(tmp_path, 1, "1", "a", "b", "c")
    labels = R.to_labels(dataclasses.replace(base, plan_digest="sha256:abc"))
    back = R.from_labels(labels)
    assert back.plan_digest == "sha256:abc" and back.env_file_keys == {"web": ("FROM_FILE",)}
    older = {k: v for k, v in labels.items() if k not in (R.PLAN_DIGEST, R.ENV_FILE_KEYS)}
    assert R.from_labels(older).plan_digest == "" and R.from_labels(older).env_file_keys is None


def op(kind: Kind) -> Operation:
    return Operation(f"{kind.value}:x", kind, "cause")


def test_a_run_that_only_started_or_waited_changed_nothing() -> None:
    started = (op(Kind.START_CONTAINER), op(Kind.WAIT_COMPLETED))
    plan = Plan("demo", started)
    assert R.changed_nothing(Plan("demo", ()), Outcome(), "up")
    assert R.changed_nothing(plan, Outcome(done=started), "up")
    assert not R.changed_nothing(plan, Outcome(done=started), "apply")  # records the digest
    replaced = (op(Kind.CREATE_CONTAINER), op(Kind.START_CONTAINER))
    assert not R.changed_nothing(Plan("demo", replaced), Outcome(done=replaced), "up")
    assert not R.changed_nothing(plan, Outcome(skipped=started), "up")


def test_a_saved_plan_knows_its_digest_and_apply_finds_it(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("name: demo\nservices:\n  web: {image: busybox:local}\n")
    project = stackup.load([str(tmp_path / "compose.yaml")], environ={})
    engine = FakeEngine()
    _, text = saved_plans.save_plan(project, engine, app_options())
    saved = planfile.load(text, "p.json")
    assert saved.digest == json.loads(text)["digest"] and saved.digest.startswith("sha256:")
    assert saved_plans.applied_revision(text, "p.json", "demo", engine) == (saved.digest, None)
    model, digests = R.recorded_model(project, {})
    for number, digest in ((1, saved.digest), (2, "")):
        engine.create_revision("demo", number, R.to_labels(R.Revision(
            project_name="demo", number=number, time="t", user="u", command="apply",
            services=(), outcome="ok", reason="", model=model, digests=digests,
            token=str(number), plan_digest=digest)))
    assert saved_plans.applied_revision(text, "p.json", "demo", engine) == (saved.digest, None)
    engine.remove_revisions("demo", [2])  # now the apply of this file is the newest
    assert saved_plans.applied_revision(text, "p.json", "demo", engine) == (saved.digest, 1)
    assert revision_store.remove_revision_records("demo", engine) == (1, 0)  # one there, none left
    assert engine.list_revisions("demo") == []


def app_options():  # type: ignore[no-untyped-def]
    from stackup.reconcile import UpOptions

    return UpOptions()


def anonymous(name: str, project: str = "demo") -> ObservedVolume:
    return ObservedVolume(name, None, labels=FrozenMap({PROJECT: project,
                                                        ANONYMOUS_VOLUME: "web:/data"}),
                          project=project)


def test_down_v_removes_anonymous_volumes_no_container_mounts_any_more() -> None:
    kept_by = ObservedContainer("c" * 64, "demo-web-1", "web", 1, "running",
                                volume_mounts=(("/data", "in-use"),))
    observed = ObservedState("demo", containers=(kept_by,), volumes=FrozenMap({
        "left-behind": anonymous("left-behind"), "in-use": anonymous("in-use")}))
    text = plan_text(plan_down(None, observed, remove_volumes=True))
    assert "volume left-behind" in text and "in-use" not in text  # goes with its container
    assert "left-behind" not in plan_text(plan_down(None, observed, remove_volumes=False))
