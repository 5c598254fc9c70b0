"""Take, renew and release a project's lock (records and rules in ``ports.lock``).

Pipeline position: the CLI wraps every command that changes the engine in a ``ProjectLock``
(``Globals.locked``), before it observes anything; read-only commands never take it. The lock
lives in a ``LockStore`` on the engine itself (``adapters.docker.lock``), so two runners sharing one
``DOCKER_HOST`` exclude each other.

A waiter polls the store: a free lock (no record) or a stale one (``ports.lock.stale_reason``: the
holder's process gone on this host, or no renewal for a lease elsewhere) is taken by creating the
next generation; a live one is waited for up to ``timeout`` seconds, then ``LockHeld`` names
the holder. While held, a thread renews the lock every ``lease / 5`` seconds by creating the next
generation and removing the previous one; a renewal that finds its record gone or taken marks
the lock ``lost`` (and calls ``on_lost``).
"""

from __future__ import annotations

import os
import platform
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from hashlib import sha256

from stackup.ports.lock import (
    LockHolder,
    LockRecord,
    LockStore,
    current,
    holder_labels,
    record_name,
    stale_reason,
)
from stackup.core.errors import LockHeld, ProjectError, StackupError

DEFAULT_LEASE = 30.0
DEFAULT_TIMEOUT = 300.0
_MAX_SKIPPED = 16  # volumes named like a lock record but without its labels, skipped in a row


class ProjectLock:
    """One acquisition of a project's lock; a context manager."""

    def __init__(self, store: LockStore, project_name: str, command: str, *,
                 timeout: float = DEFAULT_TIMEOUT, lease: float = DEFAULT_LEASE,
                 on_wait: Callable[[LockHolder], None] | None = None,
                 on_note: Callable[[str], None] | None = None,
                 on_lost: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.store, self.project_name = store, project_name
        self.timeout, self.lease = timeout, lease
        self.on_wait, self.on_note, self.on_lost = on_wait, on_note, on_lost
        self.clock, self.sleep = clock, sleep
        user, host, host_id = this_host()
        pid = os.getpid()
        self.me = LockHolder(token=os.urandom(8).hex(),  # secrets.token_hex(8)
                             user=user, host=host, host_id=host_id,
                             pid=pid, pid_start=process_start(pid), command=command,
                             since=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                             lease=lease)
        self.held: LockRecord | None = None
        self.lost: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._renewed = False  # a renewal was tried: records of ours may be left to remove

    def __enter__(self) -> ProjectLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # --- taking it -----------------------------------------------------------------------------
    def acquire(self) -> None:
        # The common case first: nobody holds the lock and its last holder removed its record,
        # so generation 1 is free. Taking it costs a create and a check (``_take``), one engine
        # call less than listing first; when it is not free, the check gives it back.
        if self._take(1):
            return
        deadline = self.clock() + self.timeout
        first_seen: dict[str, float] = {}  # record name → when this waiter first saw it
        announced: set[str] = set()
        delay = 0.2
        while True:
            top = current(self.store.records(self.project_name))
            reason = None
            if top is not None:
                seen = first_seen.setdefault(top.name, self.clock())
                reason = stale_reason(top, host_id=self.me.host_id,
                                      process_alive=self._alive(top.holder),
                                      store_now=self.store.now(),
                                      unchanged_for=self.clock() - seen)
            if top is None or reason is not None:
                if self._take(top.generation + 1 if top else 1):
                    if top is not None and self.on_note is not None:
                        self.on_note(f"took over the lock of project {self.project_name} from "
                                     f"{top.holder.describe()}: {reason}")
                    return
                self.sleep(0.05)  # lost the race: look again
                continue
            if top.holder.token not in announced and self.timeout > 0 \
                    and self.on_wait is not None:
                announced.add(top.holder.token)
                self.on_wait(top.holder)
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise LockHeld(
                    f"project {self.project_name} is locked by {top.holder.describe()}",
                    detail=f"Gave up after {self.timeout:g} s (--lock-timeout, "
                           f"STACKUP_LOCK_TIMEOUT). A lock whose process is gone on the same "
                           f"host, or that is not renewed for {top.holder.lease:g} s, is taken "
                           f"over by itself; `stackup unlock --force` removes it at once.")
            self.sleep(min(delay, remaining))
            delay = min(delay * 1.5, 1.0)

    def _create(self, generation: int) -> LockRecord | None:
        """Create-or-get the record of ``generation``, or of the next one when a volume of that
        name is not a lock record (an engine stopped in the middle of creating one keeps the
        volume without its labels): such a volume is left alone, with a note. None when too
        many are."""
        for skip in range(_MAX_SKIPPED):
            name = record_name(self.project_name, generation + skip)
            got = self.store.create_or_get(name, holder_labels(self.project_name,
                                                               generation + skip, self.me))
            if got is not None:
                return got
            if self.on_note is not None:
                self.on_note(f"volume {name} is not a lock record (no io.stackup.lock labels; "
                             f"the engine may have stopped while creating it): skipped, left "
                             f"alone (`docker volume rm {name}` removes it)")
        return None

    def _take(self, generation: int) -> bool:
        """Create the given generation (or the next free one); True when it is ours and the
        highest."""
        got = self._create(generation)
        if got is None:
            name = record_name(self.project_name, generation)
            raise ProjectError(f"cannot lock project {self.project_name}: volume {name} and the "
                               f"{_MAX_SKIPPED - 1} after it exist and are not stackup locks",
                               detail=f"Remove them (`docker volume rm {name} ...`) and run "
                                      f"again.")
        name = got.name
        if got.holder.token != self.me.token:
            return False
        records = self.store.records(self.project_name)
        top = current(records)
        if top is None or top.name != name:  # a higher generation appeared meanwhile
            self.store.remove(name)
            return False
        for older in records:
            if older.generation < got.generation:
                self.store.remove(older.name)
        self.held = got
        # the one long-lived thread: renews the lease while the command works; ``release`` sets
        # ``_stop`` and joins it (daemon only so that a crash cannot hang the interpreter)
        self._thread = threading.Thread(target=self._renew, name="stackup-lock", daemon=True)
        self._thread.start()
        return True

    def _alive(self, holder: LockHolder) -> bool | None:
        if holder.host_id != self.me.host_id:
            return None
        if holder.pid == self.me.pid:
            return True  # another lock of this very process (tests, threads)
        return process_alive(holder.pid, holder.pid_start)

    # --- keeping it ----------------------------------------------------------------------------
    def _renew(self) -> None:
        interval = max(0.2, self.lease / 5)
        while not self._stop.wait(interval):
            held = self.held
            assert held is not None
            try:
                mine = self.store.get(held.name)
                if mine is None or mine.holder.token != self.me.token:
                    self._lose("its record was removed (`stackup unlock --force`, or "
                               "`docker volume prune`)")
                    return
                self._renewed = True
                got = self._create(held.generation + 1)
                if got is None or got.holder.token != self.me.token:
                    who = got.holder.describe() if got is not None else "something else"
                    self._lose(f"it was taken over by {who}")
                    return
                self.held = got
                self.store.remove(held.name)
            except StackupError:
                continue  # the engine did not answer: try again; the lease may run out

    def _lose(self, reason: str) -> None:
        self.lost = f"lost the lock of project {self.project_name}: {reason}"
        if self.on_lost is not None:
            self.on_lost(self.lost)

    # --- giving it back ------------------------------------------------------------------------
    def release(self) -> None:
        """Stop renewing and remove this acquisition's records. Raises ``StackupError`` when the
        engine does not answer (the lock then goes stale by itself)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self.held is None or self.lost is not None:
            return
        held, self.held = self.held, None
        if not self._renewed:  # the one record of ours is the one taken (``_take``)
            self.store.remove(held.name)
            return
        for record in self.store.records(self.project_name):
            if record.holder.token == self.me.token:
                self.store.remove(record.name)


def holder_of(store: LockStore, project_name: str) -> LockRecord | None:
    """The record holding the project's lock, if any (stale or not)."""
    return current(store.records(project_name))


def force_unlock(store: LockStore, project_name: str) -> LockRecord | None:
    """Remove every record of the project's lock; returns the one that held it."""
    records = store.records(project_name)
    for record in records:
        store.remove(record.name)
    return current(records)


def lease_from(environ: Mapping[str, str]) -> float:
    """``STACKUP_LOCK_LEASE`` (seconds, at least 1), else 30."""
    raw = environ.get("STACKUP_LOCK_LEASE", "").strip()
    if not raw:
        return DEFAULT_LEASE
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value >= 1:
        raise ProjectError(f"STACKUP_LOCK_LEASE={raw!r} is not a number of seconds >= 1")
    return value


# --- who and where we are --------------------------------------------------------------------


def this_host() -> tuple[str, str, str]:
    """(user, hostname, host id). Equal host ids mean the same hostname, boot and pid
    namespace: only there does a pid name the same process."""
    import getpass

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "?"
    host = platform.node()  # the host name (what socket.gethostname says)
    parts = [host, _read("/proc/sys/kernel/random/boot_id").strip()]
    try:
        parts.append(os.readlink("/proc/self/ns/pid"))
    except OSError:
        parts.append("")
    return user, host, sha256("|".join(parts).encode()).hexdigest()[:16]


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (state first); [] if unknown."""
    text = _read(f"/proc/{pid}/stat")
    return text.rpartition(")")[2].split() if text else []


def process_start(pid: int) -> str:
    fields = _stat(pid)
    return fields[19] if len(fields) > 19 else ""


def process_alive(pid: int, start: str = "") -> bool | None:
    """Whether that process still runs (a zombie does not; nor does a new process that reused
    the pid, when ``start`` is known). None when it cannot be told."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    except OSError:
        return None
    fields = _stat(pid)
    if fields:
        if fields[0] in ("Z", "X"):
            return False
        if start and len(fields) > 19 and fields[19] != start:
            return False
    return True
