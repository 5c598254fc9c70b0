"""execute: walk a Plan against an Engine, concurrently, in dependency order. Decides nothing.

Pipeline position: ``reconcile`` → ``Plan`` → **execute(plan, engine)** → ``Event``s (rendered
by the CLI) and an ``Outcome``. Each operation kind maps to a fixed sequence of engine calls;
the operation's ``cause`` is never read here.

Scheduling: one task group, one task per operation; a task waits on the ``anyio.Event`` of each
of its dependencies and starts as soon as the last one is set (not layer by layer). Engine
calls are synchronous and run in worker threads through one ``CapacityLimiter(parallel)``, so
at most ``parallel`` engine calls are in flight; stops and removals, which mostly wait for
processes to exit, have a separate, wider bound (4 x parallel, at least 64). A failed
operation does not stop independent branches; its dependents (transitively) are skipped. Cancellation (Ctrl-C) cancels the task
group; a call already in a worker thread finishes, nothing new starts.

``settled`` (op id → None for done, or the error it failed with) marks operations already run
by an earlier execution (``app.up`` runs image operations first, then re-plans): they are not
run again, and their dependents proceed or are skipped as if they had just finished. Image
operations stream the engine's output as ``output`` events.

No extra lock is needed: a plan holds one operation per network, volume and container, and the
engine accepts concurrent calls on different objects.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import anyio

from stackup.engine.base import Engine
from stackup.errors import OperationFailed, StackupError
from stackup.model import Project
from stackup.observed import ObservedContainer
from stackup.events import Event, Outcome
from stackup.plan import Kind, Operation, Plan

__all__ = ["Event", "Outcome", "execute"]

T = TypeVar("T")

_LOG_TAIL = 10


async def execute(plan: Plan, engine: Engine, project: Project | None, *, parallel: int = 16,
                  wait_timeout: float = 300.0, poll_interval: float = 0.1,
                  on_event: Callable[[Event], None] = lambda e: None,
                  settled: Mapping[str, StackupError | None] | None = None) -> Outcome:
    """Run every operation of ``plan``; return what was done, what failed, what was skipped."""
    if parallel < 1:
        raise ValueError("parallel must be at least 1")
    ids = {op.op_id for op in plan.operations}
    for op in plan.operations:
        unknown = [d for d in (*op.depends_on, *op.start_after) if d not in ids]
        if unknown:
            raise ValueError(f"operation {op.op_id} depends on unknown {', '.join(unknown)}")
    runner = _Runner(plan, engine, project, anyio.CapacityLimiter(parallel), wait_timeout,
                     poll_interval, on_event)
    for op_id, error in (settled or {}).items():
        if op_id in runner.finished:
            runner.status[op_id] = "done" if error is None else "failed"
            if error is not None:
                runner.errors[op_id] = error
            runner.finished[op_id].set()
    async with anyio.create_task_group() as tg:
        for op in plan.operations:
            if op.op_id not in runner.status:
                tg.start_soon(runner.run, op)
    return runner.outcome()


class _Runner:
    def __init__(self, plan: Plan, engine: Engine, project: Project | None,
                 limiter: anyio.CapacityLimiter, wait_timeout: float, poll_interval: float,
                 on_event: Callable[[Event], None]) -> None:
        self.plan, self.engine, self.project = plan, engine, project
        self.limiter, self.wait_timeout, self.poll = limiter, wait_timeout, poll_interval
        # Stopping mostly waits for a process to exit, which costs the engine little: those
        # calls get their own, wider bound so that 50 stops take one grace period, not four.
        self.stopping = anyio.CapacityLimiter(max(4 * int(limiter.total_tokens), 64))
        self.on_event = on_event
        self.finished = {op.op_id: anyio.Event() for op in plan.operations}
        self.status: dict[str, str] = {}
        self.errors: dict[str, StackupError] = {}

    def outcome(self) -> Outcome:
        ops = self.plan.operations
        return Outcome(
            failed=tuple((op, self.errors[op.op_id]) for op in ops
                         if self.status.get(op.op_id) == "failed"),
            skipped=tuple(op for op in ops if self.status.get(op.op_id) == "skipped"),
            done=tuple(op for op in ops if self.status.get(op.op_id) == "done"))

    def _emit(self, op: Operation, phase: str, seconds: float = 0.0,
              error: str | None = None) -> None:
        self.on_event(Event(op.op_id, op.kind, op.subject, op.service_name, phase, op.cause,
                            seconds, error))

    async def run(self, op: Operation) -> None:
        try:
            for dep in op.depends_on:
                await self.finished[dep].wait()
            bad = [d for d in op.depends_on if self.status[d] != "done"]
            if bad:
                first = self.plan.operation(bad[0])
                verb = "failed" if self.status[bad[0]] == "failed" else "was skipped"
                self.status[op.op_id] = "skipped"
                self._emit(op, "skipped", error=f"dependency {first.subject} {verb}")
                return
            self._emit(op, "started")
            start = time.monotonic()
            try:
                await self._perform(op)
            except _NotStarted as exc:
                self.status[op.op_id] = "skipped"
                self._emit(op, "skipped", time.monotonic() - start, str(exc))
            except Exception as exc:  # noqa: BLE001 - every failure is reported, not raised
                error = exc if isinstance(exc, StackupError) else OperationFailed(
                    f"{op.subject}: {type(exc).__name__}: {exc}")
                self.status[op.op_id] = "failed"
                self.errors[op.op_id] = error
                self._emit(op, "failed", time.monotonic() - start, str(error))
            else:
                self.status[op.op_id] = "done"
                self._emit(op, "done", time.monotonic() - start)
        finally:
            self.finished[op.op_id].set()

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs),
                                              limiter=self.limiter)

    async def _stop_call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs),
                                              limiter=self.stopping)

    # --- one fixed sequence of engine calls per kind ------------------------------------------
    async def _perform(self, op: Operation) -> None:
        e, name = self.engine, self.plan.project_name
        kind = op.kind
        if kind is Kind.CREATE_NETWORK:
            await self._call(e.create_network, name, _need(op.network, op))
        elif kind is Kind.CREATE_VOLUME:
            await self._call(e.create_volume, name, _need(op.volume, op))
        elif kind is Kind.REMOVE_NETWORK:
            await self._call(e.remove_network, name, op.name or _need(op.network, op).name)
        elif kind is Kind.REMOVE_VOLUME:
            await self._call(e.remove_volume, name, op.name or _need(op.volume, op).name)
        elif kind is Kind.CREATE_CONTAINER:
            container_id = await self._create(op, None)
            await self._after(op)
            await self._call(e.start_container, name, container_id)
        elif kind is Kind.RECREATE_CONTAINER:
            await self._recreate(op)
        elif kind is Kind.START_CONTAINER:
            await self._call(e.start_container, name, _need(op.container_id, op))
        elif kind is Kind.STOP_CONTAINER:
            await self._stop_call(e.stop_container, name, _need(op.container_id, op),
                                  op.timeout)
        elif kind is Kind.RESTART_CONTAINER:
            await self._call(e.restart_container, name, _need(op.container_id, op), op.timeout)
        elif kind is Kind.REMOVE_CONTAINER:
            await self._stop_call(e.remove_container, name, _need(op.container_id, op),
                                  volumes=op.remove_volumes, timeout=op.timeout)
        elif kind in (Kind.WAIT_HEALTHY, Kind.WAIT_COMPLETED, Kind.WAIT_RUNNING):
            await self._wait(op)
        elif kind is Kind.BUILD_IMAGE:
            service = _need(op.service, op)
            await self._call(e.build_image, service.name, _need(service.build, op),
                             _need(op.image, op), no_cache=op.no_cache, pull=op.pull,
                             on_output=self._output(op))
        elif kind is Kind.PULL_IMAGE:
            await self._call(e.pull_image, _need(op.image, op), on_output=self._output(op))
        elif kind is Kind.PUSH_IMAGE:
            await self._call(e.push_image, _need(op.image, op), on_output=self._output(op))
        else:
            raise OperationFailed(f"{kind.value} is not supported by the executor")

    async def _after(self, op: Operation) -> None:
        """Wait for ``start_after``; a failed one leaves the container created, not started."""
        for dep in op.start_after:
            await self.finished[dep].wait()
        bad = [d for d in op.start_after if self.status[d] != "done"]
        if bad:
            first = self.plan.operation(bad[0])
            verb = "failed" if self.status[bad[0]] == "failed" else "was skipped"
            raise _NotStarted(f"dependency {first.subject} {verb}; {op.subject} was created, "
                              f"not started")

    def _output(self, op: Operation) -> Callable[[str], None]:
        """An output sink for an engine call: each line becomes an ``output`` event."""
        start = time.monotonic()

        def sink(line: str) -> None:
            self.on_event(Event(op.op_id, op.kind, op.subject, op.service_name, "output",
                                op.cause, time.monotonic() - start, None, line))

        return sink

    async def _create(self, op: Operation, previous_id: str | None) -> str:
        project, service = self.project, _need(op.service, op)
        if project is None:
            raise OperationFailed(f"cannot create {op.subject} without a stack file")
        return await self._call(self.engine.create_container, project, service,
                                op.number or 1, name=_need(op.container_name, op),
                                config_hash=_need(op.config_hash, op),
                                config_json=_need(op.config_json, op),
                                image=_need(op.image, op),
                                previous_container_id=previous_id)

    async def _recreate(self, op: Operation) -> None:
        """Stop the old one, move its name aside, create and start the new one, remove the old.

        If creating the new container fails, the old one gets its name back (best effort).
        """
        e, name = self.engine, self.plan.project_name
        old_id, new_name = _need(op.container_id, op), _need(op.container_name, op)
        await self._call(e.stop_container, name, old_id, op.timeout)
        await self._call(e.rename_container, name, old_id, f"{old_id[:12]}_{new_name}")
        try:
            new_id = await self._create(op, old_id)
        except Exception:
            with anyio.CancelScope(shield=True):
                try:
                    await self._call(e.rename_container, name, old_id, new_name)
                except StackupError:
                    pass
            raise
        await self._call(e.start_container, name, new_id)
        await self._call(e.remove_container, name, old_id, volumes=False)

    # --- waits --------------------------------------------------------------------------------
    async def _wait(self, op: Operation) -> None:
        service = _need(op.service_name, op)
        observed = await self._call(self.engine.observe, self.plan.project_name)
        ids = [c.container_id for c in observed.containers_of(service)]
        limit = op.timeout if op.timeout is not None else self.wait_timeout
        deadline = time.monotonic() + limit
        while True:
            views = [await self._call(self.engine.inspect_container, i) for i in ids]
            if await self._settled(op.kind, service, views):
                return
            if time.monotonic() >= deadline:
                goal = {Kind.WAIT_HEALTHY: "be healthy", Kind.WAIT_COMPLETED: "complete",
                        Kind.WAIT_RUNNING: "be running"}[op.kind]
                summary = f"timed out after {limit:g}s waiting for service {service} to {goal}"
                pending = [c for c in views if c.health != "healthy"] or views
                if pending:
                    raise await self._failure(summary, pending[0])
                raise OperationFailed(summary)
            await anyio.sleep(self.poll)

    async def _settled(self, kind: Kind, service: str, views: list[ObservedContainer]) -> bool:
        """True when every container reached the goal; raises when one never will."""
        for c in views:
            stopped = c.state in ("exited", "dead")
            if kind is Kind.WAIT_COMPLETED:
                if stopped and c.exit_code not in (0, None):
                    raise await self._failure(f"service {service} exited with code "
                                              f"{c.exit_code}", c)
                continue
            if stopped:
                raise await self._failure(f"service {service} exited with code {c.exit_code} "
                                          f"while waiting for it", c)
            if kind is Kind.WAIT_HEALTHY and c.state == "running":
                if c.health is None:
                    raise OperationFailed(
                        f"service {service} has no healthcheck",
                        detail="depends_on condition service_healthy needs one: add a "
                               "healthcheck or use condition service_started.")
                if c.health == "unhealthy":
                    raise await self._failure(f"service {service} is unhealthy", c)
        if kind is Kind.WAIT_COMPLETED:
            return all(c.state in ("exited", "dead") for c in views)
        if kind is Kind.WAIT_HEALTHY:
            return all(c.health == "healthy" for c in views)
        return all(c.running for c in views)

    async def _failure(self, summary: str, c: ObservedContainer) -> OperationFailed:
        try:
            chunks = await self._call(lambda: list(self.engine.logs(c.container_id,
                                                                     tail=_LOG_TAIL)))
        except StackupError:
            chunks = []
        text = b"".join(chunks).decode("utf-8", "replace").rstrip("\n")
        parts = []
        if c.health_log:
            parts.append(f"last healthchecks of {c.name}:\n" + "\n".join(
                f"  {line}" for line in c.health_log))
        if text:
            parts.append(f"last log lines of {c.name}:\n" + "\n".join(
                f"  {line}" for line in text.splitlines()))
        return OperationFailed(summary, detail="\n".join(parts))


class _NotStarted(Exception):
    """A create_container whose ``start_after`` did not all succeed: skipped after creating."""


def _need(value: T | None, op: Operation) -> T:
    if value is None:
        raise OperationFailed(f"operation {op.op_id} is incomplete (a reconcile bug)")
    return value
