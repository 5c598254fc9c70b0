"""The project lock's records and the rule that says when one is stale. Pure: no I/O.

Pipeline position: under ``app.locking`` (the protocol that takes, renews and releases the
lock) and the stores that keep the records: ``adapters.docker.lock`` on the engine itself,
``adapters.memory_lock`` in memory for tests.

The lock of project ``p`` is a set of records, one engine object each, all labelled
``io.stackup.lock=p`` (their own label namespace: ``observe`` and ``down -v``, which select by
``io.stackup.project``, never see them). A record is named ``stackup-lock.<p>.<generation>``,
and creating one is atomic by name (create-or-get: whoever finds its own token on the object
created it). The holder is the record with the highest generation. Taking a free or stale lock,
and renewing a held one, both create the next generation; so a holder renewing and a waiter
taking over race for the same name, and exactly one of them wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


LOCK = "io.stackup.lock"  # value: the project name
TOKEN = f"{LOCK}.token"  # random, one per acquisition; kept across renewals
GENERATION = f"{LOCK}.generation"
USER = f"{LOCK}.user"
HOST = f"{LOCK}.host"  # hostname, for people
HOST_ID = f"{LOCK}.host-id"  # hostname + boot id + pid namespace: where a pid means something
PID = f"{LOCK}.pid"
PID_START = f"{LOCK}.pid-start"  # the process's start time (clock ticks since boot) or ""
COMMAND = f"{LOCK}.command"  # "stackup up": the verb only, never argument values
SINCE = f"{LOCK}.since"  # when it was taken (UTC, ISO 8601)
LEASE = f"{LOCK}.lease"  # seconds without renewal after which it is stale elsewhere

NAME_PREFIX = "stackup-lock"


@dataclass(frozen=True, slots=True)
class LockHolder:
    """Who holds (or wants) a project's lock."""

    token: str
    user: str
    host: str
    host_id: str
    pid: int
    pid_start: str
    command: str
    since: str
    lease: float

    def describe(self) -> str:
        """``root@runner-7 (pid 4242, `stackup up`, since 2024-05-01T10:00:00Z)``."""
        return (f"{self.user}@{self.host} (pid {self.pid}, `{self.command}`, "
                f"since {self.since})")


@dataclass(frozen=True, slots=True)
class LockRecord:
    """One generation of a project's lock, as the store has it."""

    name: str
    project: str
    generation: int
    holder: LockHolder
    created: datetime | None = None  # by the store's (the engine's) clock


class LockStore(Protocol):
    """Where the records live. Every method is one atomic call to the store."""

    def create_or_get(self, name: str, labels: Mapping[str, str]) -> LockRecord | None:
        """Create the record, or get the one already under that name (which may be someone
        else's). None when the name is taken by something that is not a lock record."""
        ...

    def records(self, project_name: str) -> list[LockRecord]:
        """Every record of the project's lock, in any order."""
        ...

    def get(self, name: str) -> LockRecord | None: ...

    def remove(self, name: str) -> None:
        """Remove a record; one already gone is fine."""
        ...

    def now(self) -> datetime | None:
        """The store's clock as of the latest ``records`` call (None when unknown)."""
        ...


def record_name(project_name: str, generation: int) -> str:
    return f"{NAME_PREFIX}.{project_name}.{generation}"


def holder_labels(project_name: str, generation: int, holder: LockHolder) -> dict[str, str]:
    return {LOCK: project_name, TOKEN: holder.token, GENERATION: str(generation),
            USER: holder.user, HOST: holder.host, HOST_ID: holder.host_id,
            PID: str(holder.pid), PID_START: holder.pid_start, COMMAND: holder.command,
            SINCE: holder.since, LEASE: f"{holder.lease:g}"}


def record_from_labels(name: str, labels: Mapping[str, str] | None,
                       created: datetime | None = None) -> LockRecord | None:
    """The record behind an object's labels; None when they are not a lock record's."""
    labels = labels or {}
    if not labels.get(LOCK) or not labels.get(TOKEN):
        return None
    try:
        generation = int(labels.get(GENERATION, ""))
        pid = int(labels.get(PID, "0"))
        lease = float(labels.get(LEASE, "30"))
    except ValueError:
        return None
    holder = LockHolder(token=labels[TOKEN], user=labels.get(USER, "?"),
                        host=labels.get(HOST, "?"), host_id=labels.get(HOST_ID, ""), pid=pid,
                        pid_start=labels.get(PID_START, ""), command=labels.get(COMMAND, "?"),
                        since=labels.get(SINCE, "?"), lease=lease)
    return LockRecord(name, labels[LOCK], generation, holder, created)


def current(records: list[LockRecord]) -> LockRecord | None:
    """The record that holds the lock: the highest generation."""
    return max(records, key=lambda r: r.generation, default=None)


def stale_reason(record: LockRecord, *, host_id: str, process_alive: bool | None,
                 store_now: datetime | None, unchanged_for: float) -> str | None:
    """Why ``record`` no longer holds the lock, or None while it does.

    On the same host (same ``host_id``: same hostname, boot and pid namespace) the holder's
    process is checked directly (``process_alive``): gone means stale at once. Elsewhere the
    holder renews its record every few seconds; a record older than its lease by the store's
    clock, or that this waiter has seen unchanged for longer than the lease by its own clock, is
    stale (one-second slack: the engine's timestamps have one-second resolution)."""
    holder = record.holder
    if holder.host_id and holder.host_id == host_id and process_alive is not None:
        return None if process_alive else f"its process (pid {holder.pid}) is gone"
    limit = holder.lease + 1.0
    if store_now is not None and record.created is not None:
        age = (store_now - record.created).total_seconds()
        if age > limit:
            return f"not renewed for {age:.0f} s (lease {holder.lease:g} s)"
    if unchanged_for > limit:
        return f"not renewed for {unchanged_for:.0f} s (lease {holder.lease:g} s)"
    return None


def parse_time(text: str | None) -> datetime | None:
    """An engine timestamp (``2024-05-01T10:00:00Z``, maybe with fractions) → aware datetime."""
    if not text:
        return None
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    main, _, rest = value.partition(".")
    if rest:  # fractions beyond microseconds, which fromisoformat may refuse
        digits = rest[:len(rest) - len(rest.lstrip("0123456789"))]
        zone = rest[len(digits):]
        value = f"{main}.{digits[:6].ljust(6, '0')}{zone}"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
