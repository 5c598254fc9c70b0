"""drift: events and periodic plans → drift, each once; restarts by policy are not drift."""

from __future__ import annotations

from stackup import app
from stackup.drift import KILL_GRACE, Classifier, EngineEvent, event_from_engine
from stackup.engine.fake import FakeEngine
from stackup.model import FrozenMap, Network, Project, Service, ServiceNetwork
from stackup.reconcile import UpOptions


def project(**restart: str) -> Project:
    services = {name: Service(name, image="busybox:local", restart=restart.get(name),
                              networks=(ServiceNetwork("default"),))
                for name in ("web", "job", "flaky")}
    return Project("demo", "/w", services=FrozenMap(services),
                   networks=FrozenMap({"default": Network("default", "demo_default")}))


def ev(action: str, t: float, name: str = "demo-web-1", service: str = "web", cid: str = "c1",
       **attributes: str) -> EngineEvent:
    return EngineEvent("container", action, cid, name, t, service, attributes)


def feed(c: Classifier, *events: EngineEvent) -> list:
    out = []
    for e in events:
        out += c.feed(e)
    return out


def test_rm_f_is_one_removal_to_heal() -> None:
    c = Classifier(project())
    assert feed(c, ev("kill", 1, signal="9"), ev("die", 1.01, exitCode="137"),
                ev("destroy", 1.02)) == []
    [drift] = c.flush(1.2)
    assert (drift.kind, drift.subject, drift.service, drift.heal) == \
        ("removed", "demo-web-1", "web", True)
    assert c.flush(1.3) == []


def test_docker_stop_is_one_stop_to_heal() -> None:
    c = Classifier(project())
    feed(c, ev("kill", 1, signal="15"), ev("die", 1.5, exitCode="143"), ev("stop", 1.51))
    assert c.flush(1.7) == []  # a removal may still follow
    assert [(d.kind, d.reason, d.heal) for d in c.flush(2.1)] == \
        [("stopped", "stopped by hand", True)]


def test_a_slow_rm_f_is_still_one_removal() -> None:
    c = Classifier(project())
    feed(c, ev("kill", 1, signal="9"), ev("die", 1.01, exitCode="137"))
    assert c.flush(1.3) == []
    c.feed(ev("destroy", 1.4, cid="c1"), received=1.4)
    assert [d.kind for d in c.flush(1.45)] == ["removed"]


def test_a_signal_the_container_survives_is_no_drift() -> None:
    c = Classifier(project())
    feed(c, ev("kill", 1, signal="HUP"))
    assert c.flush(1.2) == []  # not died yet: wait
    assert c.flush(1 + KILL_GRACE + 1) == [] and not c.pending  # forgotten


def test_exit_without_restart_policy_is_reported_not_healed() -> None:
    c = Classifier(project())
    [drift] = feed(c, ev("die", 1, name="demo-job-1", service="job", exitCode="0"))
    assert drift.kind == "exited" and not drift.heal and "exit code 0" in drift.reason


def test_restarts_by_policy_are_not_drift_and_a_crash_loop_is_reported_with_backoff() -> None:
    c = Classifier(project(flaky="always"), loop_exits=3, loop_window=60, backoff=30)
    flaky = {"name": "demo-flaky-1", "service": "flaky", "cid": "f1"}
    assert feed(c, ev("die", 1, exitCode="3", **flaky), ev("start", 1.1, **flaky),
                ev("die", 2, exitCode="3", **flaky), ev("start", 2.2, **flaky)) == []
    assert c.flush(3) == []
    [loop] = feed(c, ev("die", 3, exitCode="3", **flaky))
    assert loop.kind == "crash-looping" and not loop.heal and "exited 3 times" in loop.reason
    assert "flaky" in c.crash_looping
    assert feed(c, *(ev("die", t, exitCode="3", **flaky) for t in (5, 9, 17, 30))) == []
    [again] = feed(c, ev("die", 34, exitCode="3", **flaky))  # 30 s after the first report
    assert again.kind == "crash-looping" and "next report in 60 s" in again.reason
    assert feed(c, ev("die", 60, exitCode="3", **flaky)) == []  # backoff doubled


def test_on_failure_policy_does_not_restart_a_clean_exit() -> None:
    c = Classifier(project(job="on-failure:3"))
    [drift] = feed(c, ev("die", 1, name="demo-job-1", service="job", exitCode="0"))
    assert drift.kind == "exited"
    assert feed(c, ev("die", 2, name="demo-job-1", service="job", exitCode="1")) == []


def test_network_removed_and_changes_by_hand() -> None:
    c = Classifier(project())
    c.feed(event_from_engine({"Type": "network", "Action": "destroy", "timeNano": 10**9,
                              "Actor": {"ID": "n1", "Attributes": {"name": "demo_default"}}}))
    [drift] = c.flush(2)
    assert (drift.kind, drift.resource, drift.subject, drift.heal) == \
        ("removed", "network", "demo_default", True)
    [renamed] = c.feed(ev("rename", 3, name="other", oldName="/demo-web-1"))
    assert renamed.subject == "demo-web-1" and not renamed.heal and "other" in renamed.reason
    [paused] = c.feed(ev("pause", 4))
    assert paused.kind == "paused" and not paused.heal


def test_event_from_engine_reads_labels_and_time() -> None:
    raw = {"Type": "container", "Action": "die", "timeNano": 1_500_000_000,
           "Actor": {"ID": "abc", "Attributes": {"name": "demo-web-1", "exitCode": "3",
                                                 "io.stackup.service": "web"}}}
    e = event_from_engine(raw)
    assert (e.kind, e.action, e.actor_id, e.name, e.service, e.time) == \
        ("container", "die", "abc", "demo-web-1", "web", 1.5)


def test_periodic_plan_heals_missing_reports_stopped_once() -> None:
    p = project()
    engine = FakeEngine()
    c = Classifier(p)
    current, new = c.from_plan(app.plan_up(p, engine, UpOptions()))
    assert {(d.kind, d.subject, d.heal) for d in new} == {
        ("missing", "demo_default", True), ("missing", "web", True), ("missing", "job", True),
        ("missing", "flaky", True)}
    app.up(p, engine, UpOptions(), app.RunOptions())
    assert c.from_plan(app.plan_up(p, engine, UpOptions())) == ([], [])
    container = engine.by_name("demo-job-1")
    engine.stop_container("demo", container.container_id)
    current, new = c.from_plan(app.plan_up(p, engine, UpOptions()))
    assert [(d.kind, d.subject, d.heal) for d in new] == [("not-running", "demo-job-1", False)]
    assert c.from_plan(app.plan_up(p, engine, UpOptions()))[1] == []  # reported once
