"""FakeLockStore: the project lock's records in memory, for ``--dry-run`` (a lock nobody else
sees) and for fast tests of ``app.locking``.

Pipeline position: stands where ``adapters.docker.lock.DockerLockStore`` stands. It keeps the
engine's semantics that the protocol relies on: create is create-or-get, atomic by name (one
lock around the dict), and every record has a creation time by the store's own clock, which
tests move with ``advance``. ``fail`` makes every call raise ``EngineUnavailable`` (an engine
that stopped answering).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

from stackup.ports.lock import LOCK, LockRecord, record_from_labels
from stackup.core.errors import EngineUnavailable


class FakeLockStore:
    def __init__(self) -> None:
        self.objects: dict[str, tuple[dict[str, str], datetime]] = {}  # name → (labels, created)
        self.clock = datetime(2024, 1, 1, tzinfo=timezone.utc)
        self.fail = False
        self.creates = 0  # create_or_get calls that created something
        self._lock = threading.Lock()

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.clock += timedelta(seconds=seconds)

    def put(self, name: str, labels: Mapping[str, str], *, age: float = 0.0) -> None:
        """Place an object as if someone else had created it ``age`` seconds ago."""
        with self._lock:
            self.objects[name] = (dict(labels), self.clock - timedelta(seconds=age))

    def _check(self) -> None:
        if self.fail:
            raise EngineUnavailable("cannot reach the fake engine")

    def create_or_get(self, name: str, labels: Mapping[str, str]) -> LockRecord | None:
        with self._lock:
            self._check()
            if name not in self.objects:
                self.objects[name] = (dict(labels), self.clock)
                self.creates += 1
            found, created = self.objects[name]
        return record_from_labels(name, found, created)

    def records(self, project_name: str) -> list[LockRecord]:
        with self._lock:
            self._check()
            items = list(self.objects.items())
        out = []
        for name, (labels, created) in items:
            if labels.get(LOCK) == project_name:
                record = record_from_labels(name, labels, created)
                if record is not None:
                    out.append(record)
        return out

    def get(self, name: str) -> LockRecord | None:
        with self._lock:
            self._check()
            found = self.objects.get(name)
        return None if found is None else record_from_labels(name, found[0], found[1])

    def remove(self, name: str) -> None:
        with self._lock:
            self._check()
            self.objects.pop(name, None)

    def now(self) -> datetime | None:
        with self._lock:
            return self.clock
