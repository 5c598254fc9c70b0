"""The agent's event loop: one task per stack, the HTTP server, the notifications.

Pipeline position: under ``cli.commands.agent``, over ``sync``. One concurrency model: anyio. Each
stack has a task that syncs, then sleeps until its poll interval has passed or a trigger (a
webhook, ``POST /api/stacks/NAME/sync``, an approval that found its plan stale) wakes it. A
stack's syncs never overlap (one ``anyio.Lock`` each); different stacks sync at the same time,
each sync in a worker thread (``anyio.to_thread``: git, the loader and the engine calls block).
A source that cannot be read puts its stack in ``error`` and backs off (doubling, up to
``MAX_BACKOFF``) while the others go on. Every state change is notified; status and metrics are
updated after every sync.
"""

from __future__ import annotations

import datetime
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import anyio

from stackup.agent.config import AgentConfig
from stackup.agent.metrics import Metrics
from stackup.agent.notify import Notifications, message
from stackup.agent.status import StackStatus, SyncResult
from stackup.agent.sync import Refused, StackSync, StaleApproval
from stackup.agent.targets import TARGETS
from stackup.core.errors import StackupError

MIN_BACKOFF = 5.0
MAX_BACKOFF = 300.0


class Agent:
    def __init__(self, config: AgentConfig, environ: Mapping[str, str],
                 log: Callable[[str], None]) -> None:
        self.config, self.log = config, log
        self.syncs = {s.name: StackSync(s, config.state_dir, environ, self._on_busy(s.name))
                      for s in config.stacks}
        self.status = {s.name: StackStatus(s.name, self.syncs[s.name].project_name, s.target,
                                           TARGETS[s.target].drift_scope)
                       for s in config.stacks}
        self.metrics = Metrics()
        self.notifications = Notifications(config.notify, log)
        self._locks = {name: anyio.Lock() for name in self.syncs}
        self._wake = {name: anyio.Event() for name in self.syncs}
        self._force: set[str] = set()
        self._backoff = {name: 0.0 for name in self.syncs}
        self._threads = anyio.CapacityLimiter(max(2, len(self.syncs)))

    # --- triggers -------------------------------------------------------------------------

    def trigger(self, name: str, *, force: bool = False) -> None:
        """Wake the stack's task now (a webhook, an API call); ``force``: sync the head even
        when it was synced before (a retry of a failed commit)."""
        if force:
            self._force.add(name)
        self._wake[name].set()

    async def run(self, serve: Callable[[], Any] | None = None) -> None:
        """Until cancelled (or until ``serve``, the HTTP server, returns)."""
        async with anyio.create_task_group() as group:
            group.start_soon(self.notifications.run)
            for name in self.syncs:
                group.start_soon(self._follow, name)
            if serve is not None:
                await serve()
                group.cancel_scope.cancel()

    async def _follow(self, name: str) -> None:
        stack = self.syncs[name].stack
        while True:
            force = name in self._force
            self._force.discard(name)
            result = await self.sync(name, force=force)
            delay = stack.interval if stack.interval > 0 else math.inf
            if result.state == "error":  # try again later, and later still each time
                backoff = min(max(MIN_BACKOFF, self._backoff[name] * 2), MAX_BACKOFF)
                self._backoff[name] = backoff
                delay = backoff if math.isinf(delay) else max(delay, backoff)
            else:
                self._backoff[name] = 0.0
            with anyio.move_on_after(delay):
                await self._wake[name].wait()
            self._wake[name] = anyio.Event()

    # --- one sync, one approval ------------------------------------------------------------

    def _on_busy(self, name: str) -> Callable[[], None]:
        """For the worker thread: the stack is ``syncing`` from the moment a sync starts to
        change something (a poll that finds nothing new leaves the state as it was)."""
        def busy() -> None:
            def mark() -> None:
                self.status[name].state = "syncing"

            anyio.from_thread.run_sync(mark)

        return busy

    async def sync(self, name: str, *, force: bool = False) -> SyncResult:
        sync = self.syncs[name]
        async with self._locks[name]:
            return await self._run(name, lambda: sync.poll(force=force))

    async def approve(self, name: str, digest: str | None) -> SyncResult:
        """Run the plan that waits; a ``Refused`` (stale, none, another) is raised after the
        stack has been woken to plan again."""
        sync = self.syncs[name]
        async with self._locks[name]:
            try:
                return await self._run(name, lambda: sync.approve(digest))
            except StaleApproval:
                self.trigger(name, force=True)  # plan again, for a new approval
                raise

    async def _run(self, name: str, work: Callable[[], SyncResult]) -> SyncResult:
        status = self.status[name]
        previous = status.state
        status.last_start = datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="milliseconds").replace("+00:00", "Z")
        started = time.monotonic()
        try:
            result = await anyio.to_thread.run_sync(work, limiter=self._threads)
        except Refused:
            status.state = previous
            raise
        except StackupError as error:
            result = SyncResult("error", "error", reason=error.summary)
        except Exception as bug:  # noqa: BLE001 - one stack's bug must not stop the others
            result = SyncResult("error", "error",
                                reason=f"internal error: {type(bug).__name__}: {bug}")
        seconds = time.monotonic() - started
        history = status.history
        if result.applied or result.event is not None or not status.history:
            try:  # read before the result shows: a new state never comes with an old history
                history = await anyio.to_thread.run_sync(self.syncs[name].history,
                                                         limiter=self._threads)
            except StackupError:
                pass
        status.apply(result)
        status.history = history
        status.last_duration = round(seconds, 3)
        status.syncs += 1
        if result.state == "synced":
            status.last_success = time.time()
        self.metrics.observe(status, seconds)
        self._tell(name, previous, result)
        return result

    def _tell(self, name: str, previous: str, result: SyncResult) -> None:
        if result.event is None:
            return
        if not result.applied and result.state == previous and previous != "syncing":
            return  # the same state again (an error that persists, a drift not healed)
        status = self.status[name]
        self.log(f"{name}: {result.event} at {(result.commit or '-')[:12]}"
                 + (f": {result.reason}" if result.reason else ""))
        extra = ""
        if result.event == "waiting-approval":
            extra = f"(approve: stackup agent approve {name})"
        self.notifications.send(message(name, result.event, result.state, status.commit,
                                        result.reason, result.failing_service, extra))


def run_agent(agent: Agent, serve: Callable[[], Any]) -> None:
    """The agent's event loop until ``serve`` (the HTTP server) returns."""
    anyio.run(agent.run, serve)
