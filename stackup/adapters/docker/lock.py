"""The project lock's records on the Docker engine: one volume per record.

Pipeline position: ``DockerEngine.lock_store()`` hands this store to ``app.locking``, which
the CLI wraps around every command that changes the engine.

Why volumes: ``POST /volumes/create`` with a name that exists returns the existing volume,
under the engine's per-name lock, so create-or-get is atomic and the token on the answer says
who created it. (Networks will not do: Engine 20.10 lets two share one name.) A record volume
uses the ``local`` driver, holds no data, and carries only ``io.stackup.lock*`` labels, never
``io.stackup.project``, so ``observe`` and ``down -v`` never see it. The calls go through the
SDK client's own HTTP session (``APIClient`` is a ``requests.Session``), not its volume methods,
because the engine's clock comes from each answer's ``Date`` header, which those methods drop.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from stackup.adapters.docker.client import ClientBase
from stackup.core.errors import NotFound

if TYPE_CHECKING:  # ports.lock is imported by the commands that take the lock
    from stackup.ports.lock import LockRecord


class DockerLockStore:
    """``ports.lock.LockStore`` on a Docker engine."""

    def __init__(self, engine: ClientBase) -> None:
        self.engine = engine
        self._now: datetime | None = None

    def _send(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
              body: Any = None, what: str) -> Any:
        data, date = self._send_sdk(method, path, params, body, what)
        if date:
            self._now = http_date(date) or self._now
        return data

    def _send_sdk(self, method: str, path: str, params: Mapping[str, Any] | None, body: Any,
                  what: str) -> tuple[Any, str]:
        import json

        query = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (params or {}).items()}
        response = self.engine.request(method, path, what=what, params=query, json=body)
        date = response.headers.get("Date") or ""
        with self.engine._call(what):
            return (response.json() if response.content.strip() else None), date

    def create_or_get(self, name: str, labels: Mapping[str, str]) -> LockRecord | None:
        found = self._send("POST", "/volumes/create",
                           body={"Name": name, "Driver": "local", "Labels": dict(labels)},
                           what=f"cannot create lock volume {name}")
        return _record(found)

    def records(self, project_name: str) -> list[LockRecord]:
        from stackup.ports.lock import LOCK

        found = self._send("GET", "/volumes", params={"filters": {"label": [
            f"{LOCK}={project_name}"]}}, what=f"cannot read the lock of project {project_name}")
        out = [_record(v) for v in (found or {}).get("Volumes") or []]
        return [r for r in out if r is not None and r.project == project_name]

    def get(self, name: str) -> LockRecord | None:
        try:
            return _record(self._send("GET", f"/volumes/{name}",
                                      what=f"cannot inspect lock volume {name}"))
        except NotFound:
            return None

    def remove(self, name: str) -> None:
        try:
            self._send("DELETE", f"/volumes/{name}", what=f"cannot remove lock volume {name}")
        except NotFound:
            return

    def now(self) -> datetime | None:
        return self._now


_MONTHS = {name: i for i, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


def http_date(text: str) -> datetime | None:
    """An HTTP ``Date`` header as an aware datetime, None when it is not one. The engine (Go's
    net/http) sends IMF-fixdate, ``Mon, 02 Jan 2006 15:04:05 GMT``, read here directly; any
    other form goes to ``email.utils`` (imported only then)."""
    parts = text.replace(",", " ").split()
    if len(parts) == 6 and parts[5] == "GMT" and parts[2] in _MONTHS:
        clock = parts[4].split(":")
        try:
            return datetime(int(parts[3]), _MONTHS[parts[2]], int(parts[1]), int(clock[0]),
                            int(clock[1]), int(clock[2]), tzinfo=timezone.utc)
        except (ValueError, IndexError):
            pass
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None


def _record(volume: Mapping[str, Any] | None) -> LockRecord | None:
    if not volume:
        return None
    from stackup.ports.lock import parse_time, record_from_labels

    return record_from_labels(str(volume.get("Name") or ""), volume.get("Labels"),
                              parse_time(volume.get("CreatedAt")))


class LockMixin(ClientBase):
    """``lock_store()``: where ``app.locking`` keeps a project's lock on this engine."""

    def lock_store(self) -> DockerLockStore:
        return DockerLockStore(self)
