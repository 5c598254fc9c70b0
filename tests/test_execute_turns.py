"""The executor never runs a container stop while another container call (create, start,
rename, remove, network connect or disconnect) runs, nor the reverse, yet runs each kind
concurrently: Engine 20.10 loses count of a network's endpoints when containers stop while
others start or are removed (bench/endpoint_leak.py). The calls that change that count (stops,
restarts, starts, connects, disconnects) begin one after another: the next once the previous one
finished or ``endpoint_gap`` after it began."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import anyio

from stackup.core.errors import StackupError
from stackup.run.events import Event
from stackup.run.execute import execute
from stackup.core.plan import Kind, Operation, Plan


class Recorder:
    """A backend whose calls take a little time and record what else ran meanwhile."""

    def __init__(self, seconds: float = 0.03) -> None:
        self.seconds = seconds  # how long every call but a removal takes
        self.lock = threading.Lock()
        self.running: dict[Kind, int] = {}
        self.most: dict[Kind, int] = {}
        self.overlaps: list[tuple[Kind, Kind]] = []

    def perform(self, plan: Plan, op: Operation, on_output: Callable[[str], None]) -> None:
        with self.lock:
            for kind, count in self.running.items():
                if count and kind is not op.kind:
                    self.overlaps.append((op.kind, kind))
            self.running[op.kind] = self.running.get(op.kind, 0) + 1
            self.most[op.kind] = max(self.most.get(op.kind, 0), self.running[op.kind])
        time.sleep(0.01 if op.kind is Kind.REMOVE_CONTAINER else self.seconds)
        with self.lock:
            self.running[op.kind] -= 1

    def poll(self, plan: Plan, op: Operation) -> bool:
        return True

    def timed_out(self, plan: Plan, op: Operation, seconds: float) -> StackupError:
        return StackupError("timed out")


def _down(n: int, layers: int) -> Plan:
    """``down``'s shape: each container removed right after its own stop; a layer stops once
    the layer above it stopped."""
    ops: list[Operation] = []
    above: tuple[str, ...] = ()
    for layer in range(layers):
        stops = []
        for i in range(n):
            key = f"s{layer}x{i}"
            stop = Operation(f"stop_container:{key}", Kind.STOP_CONTAINER, "down",
                             depends_on=above, container_id=key)
            ops += [stop, Operation(f"remove_container:{key}", Kind.REMOVE_CONTAINER, "down",
                                    depends_on=(stop.op_id,), container_id=key, force=True)]
            stops.append(stop.op_id)
        above = tuple(stops)
    return Plan("demo", tuple(ops))


def test_stops_and_removals_take_turns_each_kind_in_parallel() -> None:
    backend = Recorder()
    plan = _down(12, 3)
    outcome = anyio.run(lambda: execute(plan, backend, parallel=16, endpoint_gap=0.005))
    assert outcome.ok and len(outcome.done) == len(plan.operations)
    assert backend.overlaps == []
    assert backend.most[Kind.STOP_CONTAINER] > 1 and backend.most[Kind.REMOVE_CONTAINER] > 1


def test_quick_endpoint_changes_never_overlap() -> None:
    """Each takes 0.03 s, less than the gap: the next begins when the previous has finished."""
    for kind in (Kind.STOP_CONTAINER, Kind.START_CONTAINER, Kind.RESTART_CONTAINER,
                 Kind.CONNECT_NETWORK, Kind.DISCONNECT_NETWORK):
        backend = Recorder()
        plan = Plan("demo", tuple(Operation(f"{kind.value}:{i}", kind, "x", container_id=f"c{i}")
                                  for i in range(10)))
        assert anyio.run(lambda: execute(plan, backend)).ok, kind
        assert backend.most[kind] == 1, kind


def test_slow_stops_wait_side_by_side_beginning_a_gap_apart() -> None:
    """A stop that waits out a grace period does not hold the others back past the gap; the
    progress shows each one started at least the gap after the one before."""
    backend = Recorder(seconds=0.8)
    plan = Plan("demo", tuple(Operation(f"stop_container:{i}", Kind.STOP_CONTAINER, "x",
                                        container_id=f"c{i}") for i in range(5)))
    started_at: list[float] = []

    def seen(event: Event) -> None:
        if event.phase == "started":
            started_at.append(time.monotonic())

    began = time.monotonic()
    assert anyio.run(lambda: execute(plan, backend, endpoint_gap=0.1, on_event=seen)).ok
    assert backend.most[Kind.STOP_CONTAINER] == 5
    assert time.monotonic() - began < 2.5  # one after another would take 4 s
    assert len(started_at) == 5
    assert min(b - a for a, b in zip(started_at, started_at[1:])) >= 0.1


def test_starts_creates_and_renames_take_turns_with_stops_too() -> None:
    backend = Recorder()
    stop = Operation("stop_container:a", Kind.STOP_CONTAINER, "x", container_id="a")
    others = [Operation(f"{kind.value}:{i}", kind, "x", container_id=f"c{i}")
              for i, kind in enumerate((Kind.REMOVE_CONTAINER, Kind.START_CONTAINER,
                                        Kind.CREATE_CONTAINER, Kind.RENAME_CONTAINER,
                                        Kind.START_CONTAINER))]
    plan = Plan("demo", (stop, *others))
    assert anyio.run(lambda: execute(plan, backend)).ok
    assert not [pair for pair in backend.overlaps if Kind.STOP_CONTAINER in pair]
    # the other kinds still run beside each other
    assert any(Kind.START_CONTAINER in pair for pair in backend.overlaps)


def test_kinds_that_touch_no_container_are_not_held_back() -> None:
    """A network or volume creation runs beside stops."""
    backend = Recorder()
    stop = Operation("stop_container:a", Kind.STOP_CONTAINER, "x", container_id="a")
    volume = Operation("create_volume:v", Kind.CREATE_VOLUME, "x", name="v")
    plan = Plan("demo", (stop, volume))
    assert anyio.run(lambda: execute(plan, backend)).ok
    assert (Kind.CREATE_VOLUME, Kind.STOP_CONTAINER) in backend.overlaps or \
        (Kind.STOP_CONTAINER, Kind.CREATE_VOLUME) in backend.overlaps
