"""execute: walk a Plan's operation graph against a Backend, concurrently. Decides nothing.

Pipeline position: ``reconcile`` → ``Plan`` → **execute(plan, backend)** → ``Event``s (rendered
by the CLI) and an ``Outcome``. Each operation is handed to the backend as it is (one engine
action); its ``cause`` is never read here.

Scheduling: one task group, one task per operation; a task waits on the ``anyio.Event`` of each
predecessor (``depends_on`` and ``if_failed``) and starts as soon as the last one is set.
Backend calls are synchronous and run in worker threads through one ``CapacityLimiter``
(``parallel``); stops and removals, which mostly wait for processes to exit, have a wider bound
(4 x parallel, at least 64). Container stops (and restarts) and every other container call
(create, start, rename, remove, network connect and disconnect) take turns: never one kind while
the other runs (each runs concurrently with its kind), because Engine 20.10 loses count of a
network's endpoints when containers stop while others start or are removed, and the network can
then not be removed until dockerd restarts ("has active endpoints"; ``bench/endpoint_leak.py``
and docs/benchmarks.md). A stop counts as finished once the engine has released the container's
network (the backend waits for that). For the same reason the calls that change a network's
endpoint count (stops, restarts, starts, network connects and disconnects) begin one after
another: the next once the previous one has finished or ``endpoint_gap`` seconds after it began,
whichever comes first. Quick ones never overlap; slow ones (a stop waiting for its grace period)
still wait side by side, their ends ``endpoint_gap`` apart. One chain for the whole run, not one
per network: most stacks have one network, and one chain is plainer.

Waits poll ``backend.poll`` every ``poll_interval`` until it is true or the operation's timeout
(else ``wait_timeout``) passes.

Stop requests (``stop_requests``: the CLI's Ctrl-C and SIGTERM, one item each) follow rule 6:
the first lets what began end as the plan says, the second abandons the run (its task group is
cancelled: a call already in a worker thread finishes, as it does on any cancellation, and its
outcome is recorded; nothing else starts). Either is reported as a run event (``op_id`` "",
phase ``stopping`` or ``abandoning``) and in ``Outcome.stopped_by`` and ``not_run``.

The rules, and the only ones (``plan`` describes the edges):

0. an operation starts once its ``depends_on``, ``if_failed`` and ``after`` have finished;
1. an operation whose ``depends_on`` include one that failed or was skipped is **skipped**
   (``after`` only orders: its outcome does not matter);
2. an operation with ``if_failed`` runs only when one of those failed; else it is **not needed**;
3. an operation with ``when_image = (op, id)`` runs only when that build or pull returned an
   image id other than ``id``; else it is **not needed**;
4. **not needed** counts as done for the operations that depend on it;
5. a ``gate`` fails when more than ``max_failures`` of its ``judge`` operations are not done; a
   ``sleep`` sleeps ``timeout`` seconds; a wait with ``settle`` needs its goal to hold that long;
6. after a stop request an operation starts only when it belongs to a container (its service
   and number) one of whose operations had already started, or when such an operation needs it
   (``depends_on``, ``when_image``, an ``after`` that belongs to no container, such as the
   stops gate; again for the containers those belong to). Every other
   one is **not run**; it counts as finished for ``after`` and as skipped for ``depends_on``. A
   wait or sleep ends at once, **failed** ("interrupted"), so a replacement whose check was cut
   short runs its restore steps. So a replacement that began ends with its new container
   started or its old one restored, and nothing new begins.
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import anyio

from stackup.ports.engine import Backend
from stackup.core.errors import InternalError, OperationFailed, StackupError
from stackup.run.events import Event, Outcome
from stackup.core.plan import STOPPING_KINDS, WAIT_KINDS, Kind, Operation, Plan

__all__ = ["Event", "Outcome", "execute"]

T = TypeVar("T")
_SATISFIED = frozenset({"done", "not_needed"})


async def execute(plan: Plan, backend: Backend, *, parallel: int = 16,
                  wait_timeout: float | None = 300.0, poll_interval: float = 0.1,
                  on_event: Callable[[Event], None] = lambda e: None,
                  stop_requests: AsyncIterable[str] | None = None,
                  endpoint_gap: float = 0.1) -> Outcome:
    """Run every operation of ``plan``; return what was done, failed, skipped, not needed, and
    not run after a stop request. ``wait_timeout`` None waits without a limit (as Compose's
    ``--wait`` does). Each item of ``stop_requests`` (its name, e.g. "SIGINT") is one stop
    request (rule 6)."""
    if parallel < 1:
        raise ValueError("parallel must be at least 1")
    ids = {op.op_id for op in plan.operations}
    for op in plan.operations:
        unknown = [d for d in (*op.depends_on, *op.if_failed, *op.after, *op.judge)
                   if d not in ids]
        if op.when_image is not None and op.when_image[0] not in ids:
            unknown.append(op.when_image[0])
        if unknown:
            raise ValueError(f"operation {op.op_id} depends on unknown {', '.join(unknown)}")
    runner = _Runner(plan, backend, parallel, wait_timeout, poll_interval, on_event,
                     endpoint_gap)
    on_event(Event("", Kind.GATE, plan.project_name or "", None, "planned", "", 0.0, plan=plan))
    async with anyio.create_task_group() as outer:
        if stop_requests is not None:
            outer.start_soon(runner.listen, stop_requests)
        with runner.scope:
            async with anyio.create_task_group() as tg:
                for op in plan.operations:
                    tg.start_soon(runner.run, op)
        outer.cancel_scope.cancel()  # the run is over: stop listening
    return runner.outcome()


class _Runner:
    def __init__(self, plan: Plan, backend: Backend, parallel: int,
                 wait_timeout: float | None, poll_interval: float,
                 on_event: Callable[[Event], None], endpoint_gap: float) -> None:
        self.plan, self.backend = plan, backend
        self.limiter = anyio.CapacityLimiter(parallel)
        self.stopping = anyio.CapacityLimiter(max(4 * parallel, 64))
        # the worker threads: one per place of the two limiters above, which decide who runs
        self.threads = anyio.CapacityLimiter(parallel + max(4 * parallel, 64))
        self.turns = _Turns()
        self.pace = _Pace(endpoint_gap)
        self.wait_timeout, self.poll = wait_timeout, poll_interval
        self.on_event = on_event
        self.finished = {op.op_id: anyio.Event() for op in plan.operations}
        self.status: dict[str, str] = {}
        self.errors: dict[str, StackupError] = {}
        self.results: dict[str, str | None] = {}
        self.scope = anyio.CancelScope()  # cancelled by a second stop request
        self.began: set[str] = set()  # operations that reached the engine (or a wait)
        self.stopped_by: str | None = None
        self.stop_event = anyio.Event()  # set by the first stop request
        self.committed: frozenset[str] = frozenset()  # what may still start after it (rule 6)
        self.abandoned = False

    async def listen(self, requests: AsyncIterable[str]) -> None:
        """The first stop request: nothing new begins (rule 6); the second: abandon."""
        async for name in requests:
            if self.stopped_by is None:
                self.stopped_by = name
                self.committed = self._committed()
                self.stop_event.set()
                self._run_event("stopping", name)
            elif not self.abandoned:
                self.abandoned = True
                self._run_event("abandoning", name)
                self.scope.cancel()

    def _run_event(self, phase: str, cause: str) -> None:
        self.on_event(Event("", Kind.GATE, self.plan.project_name, None, phase, cause, 0.0))

    def _committed(self) -> frozenset[str]:
        """Rule 6: the operations of the containers that began, what they need, and so on."""
        def key(op: Operation) -> tuple[str, int | None] | None:
            return (op.service_name, op.number) if op.service_name else None

        by_key: dict[tuple[str, int | None], list[Operation]] = {}
        for op in self.plan.operations:
            k = key(op)
            if k is not None:
                by_key.setdefault(k, []).append(op)
        keys: set[tuple[str, int | None]] = set()
        chosen: set[str] = set()
        pending = [self.plan.operation(i) for i in sorted(self.began)]
        while pending:
            op = pending.pop()
            if op.op_id in chosen:
                continue
            chosen.add(op.op_id)
            k = key(op)
            if k is not None and k not in keys:
                keys.add(k)
                pending += by_key[k]
            needs = [*op.depends_on, *op.if_failed]
            if op.when_image is not None:
                needs.append(op.when_image[0])
            pending += [self.plan.operation(d) for d in needs]
            # a check it follows that belongs to no container (the stops gate) runs too
            pending += [self.plan.operation(a) for a in op.after
                        if key(self.plan.operation(a)) is None]
        return frozenset(chosen)

    def outcome(self) -> Outcome:
        ops = self.plan.operations

        def having(status: str) -> tuple[Operation, ...]:
            return tuple(op for op in ops if self.status.get(op.op_id) == status)

        return Outcome(failed=tuple((op, self.errors[op.op_id]) for op in having("failed")),
                       skipped=having("skipped"), done=having("done"),
                       not_needed=having("not_needed"),
                       not_run=tuple(op for op in ops if self.status.get(op.op_id, "not_run")
                                     == "not_run"),
                       stopped_by=self.stopped_by, abandoned=self.abandoned)

    def _emit(self, op: Operation, phase: str, seconds: float = 0.0,
              error: str | None = None) -> None:
        self.on_event(Event(op.op_id, op.kind, op.subject, op.service_name, phase, op.cause,
                            seconds, error))

    def _finish(self, op: Operation, status: str, seconds: float = 0.0,
                error: str | None = None) -> None:
        self.status[op.op_id] = status
        self._emit(op, status, seconds, error)

    async def run(self, op: Operation) -> None:
        try:
            for dep in (*op.depends_on, *op.if_failed, *op.after):
                await self.finished[dep].wait()
            if op.when_image is not None:
                await self.finished[op.when_image[0]].wait()
            if self.stopped_by is not None and op.op_id not in self.committed:
                self._finish(op, "not_run", error=f"not started: {self.stopped_by}")
                return
            bad = [d for d in op.depends_on if self.status[d] not in _SATISFIED]
            if bad:
                first = self.plan.operation(bad[0])
                verb = "failed" if self.status[bad[0]] == "failed" else "was skipped"
                self._finish(op, "skipped", error=f"dependency {first.subject} {verb}")
                return
            if op.if_failed and not any(self.status[d] == "failed" for d in op.if_failed):
                self._finish(op, "not_needed")
                return
            if op.when_image is not None:
                image_op, image_id = op.when_image
                if self.status[image_op] != "done":
                    self._finish(op, "skipped", error=f"{self.plan.operation(image_op).subject} "
                                                      f"was not built or pulled")
                    return
                if self.results.get(image_op) == image_id:
                    self._finish(op, "not_needed")
                    return
            await self._perform(op)
        finally:
            self.finished[op.op_id].set()

    async def _perform(self, op: Operation) -> None:
        if op.kind in WAIT_KINDS or op.kind in (Kind.SLEEP, Kind.GATE):
            await self._attempt(op)
            return
        # an engine call begins when it has its turn and one of the ``parallel`` places, not
        # before: an operation still waiting for them when a stop request comes is not run
        async with self.turns.take(_TURNS.get(op.kind)):
            async with self.stopping if op.kind in STOPPING_KINDS else self.limiter, \
                    self.pace.turn(op.kind in _PACED):
                if self.stopped_by is not None and op.op_id not in self.committed:
                    self._finish(op, "not_run", error=f"not started: {self.stopped_by}")
                    return
                await self._attempt(op)

    async def _attempt(self, op: Operation) -> None:
        self.began.add(op.op_id)
        self._emit(op, "started")
        start = time.monotonic()
        try:
            if op.kind in WAIT_KINDS:
                await self._wait(op)
            elif op.kind is Kind.SLEEP:
                await self._pause(op.timeout or 0)
            elif op.kind is Kind.GATE:
                self._gate(op)
            else:  # its turn and its place are held by ``_perform``
                self.results[op.op_id] = await anyio.to_thread.run_sync(
                    functools.partial(self.backend.perform, self.plan, op, self._output(op)),
                    limiter=self.threads)
        except StackupError as error:
            self.errors[op.op_id] = error
            self._finish(op, "failed", time.monotonic() - start, str(error))
        except Exception as exc:  # a bug, not an engine failure: kept with its traceback
            bug = InternalError(f"{op.subject}: {type(exc).__name__}: {exc}", cause=exc)
            self.errors[op.op_id] = bug
            self._finish(op, "failed", time.monotonic() - start, str(bug))
        else:
            self._finish(op, "done", time.monotonic() - start)

    def _gate(self, op: Operation) -> None:
        """A rolling update's check: more than ``max_failures`` of the judged replicas not
        updated stops the rollout."""
        missed = [d for d in op.judge if self.status.get(d) not in _SATISFIED]
        if len(missed) > op.max_failures:
            raise OperationFailed(
                f"rollout of service {op.service_name} stopped: {len(missed)} of "
                f"{len(op.judge)} replicas failed (at most {op.max_failures} may)",
                detail=f"not updated: {', '.join(self.plan.operation(d).subject for d in missed)}")

    def _output(self, op: Operation) -> Callable[[str], None]:
        """An output sink for a backend call: each line becomes an ``output`` event."""
        start = time.monotonic()

        def sink(line: str) -> None:
            self.on_event(Event(op.op_id, op.kind, op.subject, op.service_name, "output",
                                op.cause, time.monotonic() - start, None, line))

        return sink

    async def _wait(self, op: Operation) -> None:
        limit = op.timeout if op.timeout is not None else self.wait_timeout
        deadline = None if limit is None else time.monotonic() + limit
        since: float | None = None  # when the goal was first seen, for ``settle``
        while True:
            if await self._call(self.backend.poll, self.plan, op):
                now = time.monotonic()
                since = now if since is None else since
                if now - since >= (op.settle or 0):
                    return
            else:
                since = None
            if deadline is not None and time.monotonic() >= deadline:
                assert limit is not None
                raise await self._call(self.backend.timed_out, self.plan, op, limit)
            await self._pause(self.poll)

    async def _pause(self, seconds: float) -> None:
        """Sleep, or fail at once on a stop request (rule 6: a wait or sleep is cut short)."""
        if not self.stop_event.is_set():
            with anyio.move_on_after(seconds):
                await self.stop_event.wait()
        if self.stopped_by is not None:
            raise OperationFailed(f"interrupted ({self.stopped_by}) before it was over")

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(functools.partial(fn, *args),
                                              limiter=self.limiter)



_TURNS = {Kind.STOP_CONTAINER: "stop", Kind.RESTART_CONTAINER: "stop",
          Kind.REMOVE_CONTAINER: "other", Kind.START_CONTAINER: "other",
          Kind.CREATE_CONTAINER: "other", Kind.RENAME_CONTAINER: "other",
          Kind.CONNECT_NETWORK: "other", Kind.DISCONNECT_NETWORK: "other"}


class _Turns:
    """Two kinds of calls that never overlap (container stops and the other container calls,
    see the module docstring): any number of one kind at a time; the other kind waits until
    none of the first runs."""

    def __init__(self) -> None:
        self.changed = anyio.Condition()
        self.running: dict[str, int] = {"stop": 0, "other": 0}

    @asynccontextmanager
    async def take(self, kind: str | None) -> AsyncIterator[None]:
        if kind is None:
            yield
            return
        other = "other" if kind == "stop" else "stop"
        async with self.changed:
            while self.running[other]:
                await self.changed.wait()
            self.running[kind] += 1
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):
                async with self.changed:
                    self.running[kind] -= 1
                    self.changed.notify_all()


_PACED = frozenset({Kind.STOP_CONTAINER, Kind.RESTART_CONTAINER, Kind.START_CONTAINER,
                    Kind.CONNECT_NETWORK, Kind.DISCONNECT_NETWORK})
"""The calls that change a network's endpoint count (see the module docstring)."""


class _Pace:
    """Calls that begin one after another: the next once the previous one has finished or
    ``gap`` seconds after it began, whichever comes first (in the order they asked)."""

    def __init__(self, gap: float) -> None:
        self.gap = gap
        self.lock = anyio.Lock()
        self.previous: tuple[float, anyio.Event] | None = None

    @asynccontextmanager
    async def turn(self, paced: bool) -> AsyncIterator[None]:
        if not paced:
            yield
            return
        finished = anyio.Event()
        async with self.lock:
            if self.previous is not None:
                began, ended = self.previous
                with anyio.move_on_after(began + self.gap - anyio.current_time()):
                    await ended.wait()
            self.previous = (anyio.current_time(), finished)
        try:
            yield
        finally:
            finished.set()
