"""`down` on an engine that lost count of the network's endpoints, and `up` afterwards.

Docker Engine 20.10 sometimes refuses to remove a network that no container uses ("has active
endpoints") until dockerd restarts. The FakeEngine does the same for a ``wedge_network``: `down`
must remove everything else, report the network with what clears it, and `up` must still bring
the project up on that network (reused, never a second network of the same name).
"""

from __future__ import annotations

from stackup.testing.fake import FakeEngine
from stackup.core.model import Dependency, Mount
from stackup.core.plan import Kind
from stackup.reconcile import plan_down, plan_up
from tests.test_execute import make_project, observe, run, svc

STACK = make_project(svc("db", volumes=(Mount("volume", "/data", "data"),)),
                     svc("web", Dependency("db")))


def test_down_removes_all_but_the_wedged_network_and_says_what_clears_it() -> None:
    engine = FakeEngine()
    outcome, _ = run(plan_up(STACK, observe(engine, STACK)), engine)
    assert outcome.ok
    engine.wedge_network("demo_default")
    down = plan_down(STACK, observe(engine, STACK), remove_volumes=True)
    outcome, _ = run(down, engine)
    # only the network's removal failed: containers and volumes are gone, nothing skipped
    assert [(op.op_id, str(error)) for op, error in outcome.failed] == [(
        "remove_network:demo_default",
        "cannot remove network demo_default: error while removing network: network "
        "demo_default id " + engine.networks["demo_default"].network_id
        + " has active endpoints\n"
        "No container uses network demo_default: the Docker engine lost count of its "
        "endpoints (a known issue of Docker Engine 20.10 when containers on one network start "
        "and stop at the same time). Restarting dockerd clears it; then `stackup down` removes "
        "the network. The project's containers (and volumes, with -v) are removed; `stackup up` "
        "can still use the network as it is.")]
    assert not outcome.skipped
    assert engine.containers == {} and engine.volumes == {}
    assert list(engine.networks) == ["demo_default"]


def test_up_after_a_wedged_down_reuses_the_network_and_a_down_after_the_restart_removes_it(
        ) -> None:
    engine = FakeEngine()
    assert run(plan_up(STACK, observe(engine, STACK)), engine)[0].ok
    engine.wedge_network("demo_default")
    assert not run(plan_down(STACK, observe(engine, STACK), remove_volumes=True), engine)[0].ok
    again = plan_up(STACK, observe(engine, STACK))
    assert not any(op.kind is Kind.CREATE_NETWORK for op in again.operations)
    outcome, _ = run(again, engine)
    assert outcome.ok
    assert sorted(c.name for c in engine.containers.values()) == ["demo-db-1", "demo-web-1"]
    assert all(c.networks == ("demo_default",) or "demo_default" in c.networks
               for c in engine.containers.values())
    assert list(engine.networks) == ["demo_default"]
    engine.restart_engine()
    outcome, _ = run(plan_down(STACK, observe(engine, STACK), remove_volumes=True), engine)
    assert outcome.ok and engine.networks == {} and engine.containers == {}
