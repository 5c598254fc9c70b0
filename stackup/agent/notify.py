"""Notifications: a JSON POST to each configured URL on every state change of a stack.

Pipeline position: fed by ``service`` after each sync; runs as its own task so that a slow or
failing receiver never holds a sync up: ``send`` only puts the message on a bounded queue (a
full queue drops the message and says so through ``log``). Each POST has a timeout and a few
retries with exponential backoff. The body is Slack-compatible (``text``) and carries the
stack, state, commit and reason, never a secret value: the receiver's URL is not logged either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from stackup.agent.config import Notifier

WORDS = {"synced": "synced", "failed": "FAILED", "rolled-back": "ROLLED BACK",
         "waiting-approval": "waiting for an approval", "drift-healed": "drift healed",
         "drifted": "drifted", "error": "ERROR (cannot read the source)"}


def message(stack: str, event: str, state: str, commit: str | None, reason: str,
            failing_service: str | None = None, extra: str = "") -> dict[str, Any]:
    """The JSON body: ``text`` for Slack-compatible receivers, the fields for scripts."""
    short = (commit or "")[:12] or "-"
    text = f"stackup agent: {stack} {WORDS.get(event, event)} at {short}"
    if failing_service:
        text += f" (service {failing_service})"
    if reason:
        text += f": {reason}"
    if extra:
        text += f" {extra}"
    return {"text": text, "stack": stack, "event": event, "state": state, "commit": commit,
            "ok": state == "synced", "reason": reason, "failing_service": failing_service}


class Notifications:
    def __init__(self, targets: tuple[Notifier, ...], log: Callable[[str], None],
                 *, backoff: float = 1.0, queue: int = 100) -> None:
        self.targets, self.log, self.backoff = targets, log, backoff
        self._send: MemoryObjectSendStream[dict[str, Any]]
        self._receive: MemoryObjectReceiveStream[dict[str, Any]]
        self._send, self._receive = anyio.create_memory_object_stream[dict[str, Any]](queue)

    def send(self, body: dict[str, Any]) -> None:
        """Queue ``body`` for every target; never waits."""
        if not self.targets:
            return
        try:
            self._send.send_nowait(body)
        except anyio.WouldBlock:
            self.log(f"notification dropped (the queue is full): {body.get('text')}")

    async def run(self) -> None:
        async with httpx.AsyncClient() as client:
            async for body in self._receive:
                async with anyio.create_task_group() as group:
                    for number, target in enumerate(self.targets, 1):
                        group.start_soon(self._post, client, number, target, body)

    async def _post(self, client: httpx.AsyncClient, number: int, target: Notifier,
                    body: dict[str, Any]) -> None:
        delay = self.backoff
        for attempt in range(1, target.retries + 2):
            try:
                response = await client.post(target.url, json=body, timeout=target.timeout)
                if response.status_code < 500 and response.status_code != 429:
                    if response.status_code >= 400:
                        self.log(f"notification receiver {number} refused it: HTTP "
                                 f"{response.status_code}")
                    return
                why = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                why = type(exc).__name__
            if attempt > target.retries:
                self.log(f"notification receiver {number} failed {attempt} times ({why}); "
                         f"gave up on: {body.get('text')}")
                return
            await anyio.sleep(delay)
            delay *= 2
