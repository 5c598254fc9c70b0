"""drift: events and periodic plans → drift, each once; restarts by policy are not drift."""

from __future__ import annotations

from stackup.app import containers as app
from stackup.app.drift import KILL_GRACE, Classifier, EngineEvent, event_from_engine
from stackup.testing.fake import FakeEngine
from stackup.core.model import FrozenMap, Network, Project, Service, ServiceNetwork
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


def test_docker_stop_past_its_grace_period_is_a_stop_before_its_stop_event() -> None:
    c = Classifier(project())
    feed(c, ev("kill", 1, signal="15"), ev("kill", 11, signal="9"), ev("die", 11.1,
                                                                      exitCode="137"))
    assert [(d.kind, d.reason, d.heal) for d in c.flush(12)] == \
        [("stopped", "stopped by hand (signal 15, then 9 after the grace period)", True)]


def test_a_late_stop_event_still_makes_a_stop_and_a_kill_by_term_is_a_kill() -> None:
    c = Classifier(project())
    feed(c, ev("kill", 1, signal="15"), ev("die", 1.1, exitCode="0"))
    assert c.flush(2) == []  # docker stop's event may still come
    c.feed(ev("stop", 3.5), received=3.5)
    assert [d.kind for d in c.flush(4.1)] == ["stopped"]
    feed(c, ev("kill", 10, signal="15"), ev("die", 10.1, exitCode="0"))
    assert [(d.kind, d.reason) for d in c.flush(15.2)] == [("killed",
                                                            "killed by hand (signal 15)")]


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


def observed_with(engine: FakeEngine, p: Project, **exit_codes: int) -> tuple:
    """The plan ``up`` would run and the state it was made from, with the exit codes given
    (by container name, ``-`` spelled ``_``) as a real engine would report them."""
    import dataclasses

    from stackup.reconcile import plan_up

    observed = app.observe(p, engine)
    codes = {k.replace("_", "-"): v for k, v in exit_codes.items()}
    observed = dataclasses.replace(observed, containers=tuple(
        dataclasses.replace(c, exit_code=codes.get(c.name, c.exit_code))
        for c in observed.containers))
    return plan_up(p, observed, UpOptions()), observed


def test_periodic_plan_heals_missing_and_stopped_leaves_a_finished_one_shot() -> None:
    p = project(flaky="always")
    engine = FakeEngine()
    c = Classifier(p)
    current, new = c.from_plan(*observed_with(engine, p))
    assert {(d.kind, d.subject, d.heal) for d in new} == {
        ("missing", "demo_default", True), ("missing", "web", True), ("missing", "job", True),
        ("missing", "flaky", True)}
    app.up(p, engine, UpOptions(), app.RunOptions())
    assert c.from_plan(*observed_with(engine, p)) == ([], [])
    for name in ("demo-job-1", "demo-web-1", "demo-flaky-1"):
        engine.stop_container("demo", engine.by_name(name).container_id)
    current, new = c.from_plan(*observed_with(engine, p, demo_web_1=137))
    found = {d.subject: (d.kind, d.heal, d.reason) for d in new}
    # docker stop (SIGKILL after the grace period): whatever stopped it, it should run
    assert found["demo-web-1"] == ("not-running", True,
                                   "not running (exited (137)); its desired state is running")
    # exit 0 under restart: always: the engine would have restarted it, so it was stopped
    assert found["demo-flaky-1"][:2] == ("not-running", True)
    # exit 0, no restart policy: a one-shot that finished
    assert found["demo-job-1"][:2] == ("not-running", False)
    assert "finished: exited 0 and its restart policy (no)" in found["demo-job-1"][2]
    assert c.from_plan(*observed_with(engine, p, demo_web_1=137))[1] == []  # reported once


def test_a_container_seen_stopped_by_hand_is_healed_even_with_exit_code_0() -> None:
    p = project()
    engine = FakeEngine()
    app.up(p, engine, UpOptions(), app.RunOptions())
    c = Classifier(p)
    job = {"name": "demo-job-1", "service": "job", "cid": "j1"}
    feed(c, ev("kill", 1, signal="15", **job), ev("die", 1.1, exitCode="0", **job),
         ev("stop", 1.2, **job))
    [stopped] = c.flush(2)
    assert (stopped.kind, stopped.heal) == ("stopped", True)
    engine.stop_container("demo", engine.by_name("demo-job-1").container_id)
    [drift], _ = c.from_plan(*observed_with(engine, p))
    assert (drift.subject, drift.heal) == ("demo-job-1", True)
    c.feed(ev("start", 3, **job))  # started again: a later clean exit is a finished run
    [drift], _ = c.from_plan(*observed_with(engine, p))
    assert (drift.subject, drift.heal) == ("demo-job-1", False)


def test_a_one_shot_others_wait_for_is_never_started_by_watch() -> None:
    import dataclasses

    from stackup.core.model import Dependency

    p = project()
    web = dataclasses.replace(p.services["web"], depends_on=(
        Dependency("job", "service_completed_successfully"),))
    p = dataclasses.replace(p, services=FrozenMap({**p.services, "web": web}))
    c = Classifier(p)
    [drift] = feed(c, ev("die", 1, name="demo-job-1", service="job", exitCode="3"))
    assert (drift.kind, drift.heal) == ("exited", False)
    assert "another service waits for it to complete" in drift.reason


def test_a_crash_nothing_restarts_is_healed_until_it_loops() -> None:
    c = Classifier(project(), loop_exits=3, loop_window=60)
    [first] = feed(c, ev("die", 1, exitCode="1"))
    assert (first.kind, first.heal) == ("exited", True)
    assert "restart policy (no) does not restart it; its desired state is running" \
        in first.reason
    [second] = feed(c, ev("die", 5, exitCode="1"))
    assert second.heal
    [loop] = feed(c, ev("die", 9, exitCode="1"))
    assert (loop.kind, loop.heal) == ("crash-looping", False) and "web" in c.crash_looping
    assert "drift no longer heals it" in loop.reason
