"""A head start: a plan's first operations begin in threads while the executor's modules load.

Pipeline position: ``app.run_plan``, between reconcile and ``execute``. The first run of the
executor in a process imports anyio's asyncio backend and asyncio: about 40 ms on these
machines, during which no operation could start (replacing one container takes about 400 ms, a
tenth of which was this wait; docs/benchmarks.md). ``HeadStart`` begins at once, in plain
threads, the operations the executor would start first anyway, and hands the executor a
``Backend`` whose ``perform`` of such an operation waits for its thread's result (or raises its
error) instead of calling the engine again.

The executor still decides everything else: what runs next, what is skipped, the events and
the outcome. A plan qualifies only when its first operations are ones the executor would start
at the same moment and unconditionally: each without any predecessor or condition, no more of
them than ``parallel``, and not stops beside other container calls (the executor makes
those take turns).
Only the container calls the engine adapter makes over its socket reader qualify (start, stop,
restart, rename, remove): they import nothing. Network, volume, create and image operations go
through code that imports modules the first time (the Docker SDK, the container spec), and an
import in this thread beside the main thread's, interrupted by Ctrl-C, can leave an import lock
held: the thread would then never end.

Ctrl-C (or any error) before the executor has asked for a head-started operation: it is waited
for, as the executor waits for a call already in a worker thread, but never longer than the
operation's own stop timeout plus ``_GRACE`` seconds.
"""

from __future__ import annotations

import threading

from stackup.engine.base import Backend, OutputSink
from stackup.errors import StackupError
from stackup.plan import Kind, Operation, Plan

_ELIGIBLE = frozenset({Kind.START_CONTAINER, Kind.STOP_CONTAINER, Kind.RESTART_CONTAINER,
                       Kind.RENAME_CONTAINER, Kind.REMOVE_CONTAINER})
_STOPS = frozenset({Kind.STOP_CONTAINER, Kind.RESTART_CONTAINER})
_GRACE = 30.0  # seconds, beyond an operation's stop timeout, that an abandoned one is waited for
_STOP_TIMEOUT = 10.0  # the engine's default when the operation sets none


def first_operations(plan: Plan, parallel: int) -> tuple[Operation, ...]:
    """The operations to give a head start (none when the plan does not qualify)."""
    first = tuple(op for op in plan.operations
                  if not (op.depends_on or op.after or op.if_failed or op.when_image))
    kinds = {op.kind for op in first}
    if not first or len(first) > parallel or not kinds <= _ELIGIBLE:
        return ()
    if kinds & _STOPS and kinds - _STOPS:
        return ()
    return first


class _Started:
    """One operation running in its own thread."""

    def __init__(self, backend: Backend, plan: Plan, op: Operation) -> None:
        self.result: str | None = None
        self.error: BaseException | None = None
        self.limit = (op.timeout if op.timeout is not None else _STOP_TIMEOUT) + _GRACE
        self.thread = threading.Thread(target=self._run, args=(backend, plan, op),
                                       name=f"stackup-{op.op_id}", daemon=True)
        self.thread.start()

    def _run(self, backend: Backend, plan: Plan, op: Operation) -> None:
        try:
            self.result = backend.perform(plan, op, _no_output)
        except BaseException as error:  # noqa: BLE001 - raised again in the executor's call
            self.error = error

    def outcome(self) -> str | None:
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.result


def _no_output(line: str) -> None:
    return None  # the eligible kinds print nothing


class HeadStart:
    """A ``Backend`` that has already begun ``first_operations(plan, parallel)``."""

    def __init__(self, backend: Backend, plan: Plan, parallel: int) -> None:
        self.backend = backend
        self._started = {op.op_id: _Started(backend, plan, op)
                         for op in first_operations(plan, parallel)}

    def perform(self, plan: Plan, op: Operation, on_output: OutputSink) -> str | None:
        started = self._started.pop(op.op_id, None)
        if started is not None:
            return started.outcome()
        return self.backend.perform(plan, op, on_output)

    def poll(self, plan: Plan, op: Operation) -> bool:
        return self.backend.poll(plan, op)

    def timed_out(self, plan: Plan, op: Operation, seconds: float) -> StackupError:
        return self.backend.timed_out(plan, op, seconds)

    def join(self) -> None:
        """Wait for head-started operations the executor never asked for (it was interrupted
        before it started them), each at most its stop timeout plus ``_GRACE`` seconds."""
        for started in self._started.values():
            started.thread.join(started.limit)
