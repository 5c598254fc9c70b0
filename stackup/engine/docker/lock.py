"""The project lock's records on the Docker engine: one volume per record.

Pipeline position: ``DockerEngine.lock_store()`` hands this store to ``engine.locking``, which
the CLI wraps around every command that changes the engine.

Why volumes: ``POST /volumes/create`` with a name that exists returns the existing volume,
under the engine's per-name lock, so create-or-get is atomic and the token on the answer says
who created it. (Networks will not do: Engine 20.10 lets two share one name.) A record volume
uses the ``local`` driver, holds no data, and carries only ``io.stackup.lock*`` labels, never
``io.stackup.project``, so ``observe`` and ``down -v`` never see it. Over a unix socket the
calls go through ``unix_http`` (taking the lock must not import the SDK); otherwise through the
SDK's session. The engine's clock comes from each answer's ``Date`` header.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from stackup.engine.docker.client import API_VERSION, ClientBase
from stackup.engine.lockspec import LOCK, LockRecord, parse_time, record_from_labels
from stackup.errors import EngineError, NotFound


class DockerLockStore:
    """``engine.lockspec.LockStore`` on a Docker engine."""

    def __init__(self, engine: ClientBase) -> None:
        self.engine = engine
        self._now: datetime | None = None

    def _send(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
              body: Any = None, what: str) -> Any:
        reader = self.engine.reader
        if reader is not None:
            data, date = reader.request(method, path, params, body, what=what)
        else:
            data, date = self._send_sdk(method, path, params, body, what)
        if date:
            try:
                self._now = parsedate_to_datetime(date)
            except (TypeError, ValueError):
                pass
        return data

    def _send_sdk(self, method: str, path: str, params: Mapping[str, Any] | None, body: Any,
                  what: str) -> tuple[Any, str]:
        import json

        api = self.engine.api
        query = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (params or {}).items()}
        with self.engine._call(what):
            response = api.request(method, f"{api.base_url}/v{API_VERSION}{path}",
                                   params=query, json=body)
        date = response.headers.get("Date") or ""
        if 200 <= response.status_code < 300:
            return (response.json() if response.content.strip() else None), date
        try:
            message = str(response.json().get("message") or response.text).strip()
        except ValueError:
            message = response.text.strip()
        if response.status_code == 404:
            raise NotFound(f"{what}: {message}")
        raise EngineError(f"{what}: {message}")

    def create_or_get(self, name: str, labels: Mapping[str, str]) -> LockRecord | None:
        found = self._send("POST", "/volumes/create",
                           body={"Name": name, "Driver": "local", "Labels": dict(labels)},
                           what=f"cannot create lock volume {name}")
        return _record(found)

    def records(self, project_name: str) -> list[LockRecord]:
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


def _record(volume: Mapping[str, Any] | None) -> LockRecord | None:
    if not volume:
        return None
    return record_from_labels(str(volume.get("Name") or ""), volume.get("Labels"),
                              parse_time(volume.get("CreatedAt")))


class LockMixin(ClientBase):
    """``lock_store()``: where ``engine.locking`` keeps a project's lock on this engine."""

    def lock_store(self) -> DockerLockStore:
        return DockerLockStore(self)
