"""What ``run`` and ``attach`` share: signals forwarded to the container, and progress
without pull or build output when asked to be quiet."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING



if TYPE_CHECKING:
    from stackup.ports.engine import Engine
    from stackup.run.events import Event


@contextmanager
def forward_signals(engine: Engine, project_name: str, container_id: str,
                     enabled: bool) -> Iterator[None]:
    """SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1/2 to stackup go to the container instead."""
    if not enabled:
        yield
        return
    names = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")

    def forward(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        # a handler must not block on the engine: one short kill call per signal, ends with it
        threading.Thread(target=_kill, args=(engine, project_name, container_id, name),
                         daemon=True).start()

    previous = {getattr(signal, n): signal.signal(getattr(signal, n), forward) for n in names}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _kill(engine: Engine, project_name: str, container_id: str, name: str) -> None:
    try:
        engine.kill_container(project_name, container_id, signal=name)
    except Exception:  # noqa: BLE001 - the container may just have exited
        pass


def quiet_output(sink: Callable[[Event], None], kinds: Collection[str]) -> Callable[[Event], None]:
    """``--quiet-build`` / ``--quiet-pull``: the operations of ``kinds`` still show, their
    output lines (the build's steps, the pull's layers) do not."""
    if not kinds:
        return sink

    def quiet(event: Event) -> None:
        if event.phase == "output" and event.kind.value in kinds:
            return
        sink(event)

    return quiet


