"""The project lock's protocol (engine.locking, engine.lockspec) on the in-memory store: mutual
exclusion under threads, stale locks (process gone here, lease run out elsewhere), renewal,
losing the lock, release, and the waiter's messages."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import pytest

from stackup.adapters.memory_lock import FakeLockStore
from stackup.app.locking import (
    ProjectLock,
    force_unlock,
    holder_of,
    lease_from,
    process_alive,
    process_start,
)
from stackup.ports.lock import (
    LockHolder,
    holder_labels,
    parse_time,
    record_from_labels,
    record_name,
    stale_reason,
)
from stackup.core.errors import LockHeld, ProjectError

ELSEWHERE = LockHolder(token="t-other", user="ci", host="runner-9", host_id="another-host",
                       pid=4242, pid_start="", command="stackup up",
                       since="2024-01-01T00:00:00Z", lease=30.0)


class FakeTime:
    """A clock whose sleep only moves the clock: waiting costs no real time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _lock(store: FakeLockStore, **kwargs: object) -> ProjectLock:
    return ProjectLock(store, "p", "stackup up", **kwargs)  # type: ignore[arg-type]


def _dead_pid() -> tuple[int, str]:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    start = process_start(child.pid)
    child.wait()
    return child.pid, start


def test_one_holder_at_a_time_under_threads() -> None:
    store = FakeLockStore()
    inside: list[int] = []
    overlaps: list[int] = []
    done: list[int] = []

    def worker(n: int) -> None:
        with _lock(store, timeout=30, sleep=lambda s: time.sleep(s / 20)):  # poll faster
            inside.append(n)
            if len(inside) > 1:
                overlaps.append(n)
            time.sleep(0.01)
            inside.remove(n)
        done.append(n)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(done) == list(range(8))
    assert overlaps == []
    assert store.objects == {}  # every holder removed its records


def test_timeout_zero_fails_at_once_naming_the_holder() -> None:
    store = FakeLockStore()
    store.put(record_name("p", 1), holder_labels("p", 1, ELSEWHERE))
    waited: list[LockHolder] = []
    start = time.monotonic()
    with pytest.raises(LockHeld) as err:
        _lock(store, timeout=0, on_wait=waited.append).acquire()
    assert time.monotonic() - start < 1
    assert err.value.summary == ("project p is locked by ci@runner-9 (pid 4242, `stackup up`, "
                                 "since 2024-01-01T00:00:00Z)")
    assert "unlock --force" in err.value.detail
    assert waited == []  # nothing to wait for: no "waiting" line


def test_a_waiter_says_once_who_holds_it_then_gives_up() -> None:
    store = FakeLockStore()
    store.put(record_name("p", 1), holder_labels("p", 1, dataclasses.replace(ELSEWHERE,
                                                                             lease=3600)))
    fake = FakeTime()
    waited: list[LockHolder] = []
    with pytest.raises(LockHeld, match="ci@runner-9"):
        _lock(store, timeout=20, on_wait=waited.append, clock=fake.clock,
              sleep=fake.sleep).acquire()
    assert [h.host for h in waited] == ["runner-9"]
    assert 20 <= fake.now - 1000 < 22


def test_holder_gone_on_this_host_is_stale_at_once() -> None:
    store = FakeLockStore()
    pid, start = _dead_pid()
    me = _lock(store)
    dead = dataclasses.replace(me.me, token="t-dead", pid=pid, pid_start=start)
    store.put(record_name("p", 4), holder_labels("p", 4, dead))
    notes: list[str] = []
    lock = _lock(store, timeout=0, on_note=notes.append)
    lock.acquire()
    try:
        assert lock.held is not None and lock.held.generation == 5
        assert notes == [f"took over the lock of project p from {dead.describe()}: its process "
                         f"(pid {pid}) is gone"]
        assert [r.generation for r in store.records("p")] == [5]  # the stale record is removed
    finally:
        lock.release()


def test_a_zombie_or_a_reused_pid_is_not_the_holder() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while process_alive(child.pid) and time.monotonic() < deadline:
        time.sleep(0.05)  # exited but not reaped: a zombie
    assert process_alive(child.pid) is False
    child.wait()
    assert process_alive(os.getpid(), process_start(os.getpid())) is True
    assert process_alive(os.getpid(), "1") is False  # same pid, another start time


def test_elsewhere_a_record_older_than_its_lease_is_taken_at_once() -> None:
    store = FakeLockStore()
    store.put(record_name("p", 2), holder_labels("p", 2, ELSEWHERE), age=45)
    notes: list[str] = []
    lock = _lock(store, timeout=0, on_note=notes.append)
    lock.acquire()
    lock.release()
    assert notes and notes[0].endswith("not renewed for 45 s (lease 30 s)")


def test_elsewhere_a_record_that_stops_changing_is_taken_after_the_lease() -> None:
    store = FakeLockStore()
    store.put(record_name("p", 1), holder_labels("p", 1, ELSEWHERE))
    fake = FakeTime()
    waited: list[LockHolder] = []
    lock = _lock(store, timeout=300, on_wait=waited.append, clock=fake.clock, sleep=fake.sleep)
    lock.acquire()
    lock.release()
    assert len(waited) == 1
    assert 31 <= fake.now - 1000 < 33  # the lease (30 s) plus one second of slack


def test_a_live_holder_renews_so_a_waiter_elsewhere_never_takes_it() -> None:
    store = FakeLockStore()
    holder = _lock(store, lease=1.0)  # renews every 0.2 s
    holder.acquire()
    try:
        waiter = _lock(store, timeout=2.5)
        waiter.me = dataclasses.replace(waiter.me, host_id="another-host")  # not this host
        with pytest.raises(LockHeld):
            waiter.acquire()  # 2.5 s: more than twice the lease, yet never stale
        assert holder.lost is None
        records = store.records("p")
        assert len(records) == 1 and records[0].generation > 5
        assert records[0].holder.token == holder.me.token
    finally:
        holder.release()
    assert store.records("p") == []


def test_renewal_survives_an_engine_that_stops_answering_for_a_while() -> None:
    store = FakeLockStore()
    holder = _lock(store, lease=1.0)
    holder.acquire()
    store.fail = True
    time.sleep(0.5)
    store.fail = False
    time.sleep(0.5)
    assert holder.lost is None
    first = holder.held.generation if holder.held else 0
    time.sleep(0.5)
    assert holder.held is not None and holder.held.generation > first
    holder.release()


def test_a_lock_removed_by_force_is_reported_lost() -> None:
    store = FakeLockStore()
    lost: list[str] = []
    holder = _lock(store, lease=1.0, on_lost=lost.append)
    holder.acquire()
    removed = force_unlock(store, "p")
    assert removed is not None and removed.holder.token == holder.me.token
    deadline = time.monotonic() + 5
    while not lost and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lost == ["lost the lock of project p: its record was removed (`stackup unlock "
                    "--force`, or `docker volume prune`)"]
    assert holder.lost == lost[0]
    holder.release()  # nothing left to remove, no error
    assert holder_of(store, "p") is None


def test_a_takeover_race_has_one_winner() -> None:
    """Waiters that all judge the same record stale race for the same next generation."""
    store = FakeLockStore()
    store.put(record_name("p", 7), holder_labels("p", 7, ELSEWHERE), age=100)
    holders: list[ProjectLock] = []
    barrier = threading.Barrier(6)

    def grab() -> None:
        lock = _lock(store, timeout=0)
        barrier.wait()
        try:
            lock.acquire()
        except LockHeld:
            return
        holders.append(lock)

    threads = [threading.Thread(target=grab) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(holders) == 1
    assert [r.holder.token for r in store.records("p")] == [holders[0].me.token]
    holders[0].release()


def test_a_foreign_object_under_the_lock_name_is_skipped_and_left_alone() -> None:
    """A volume named like a record but without its labels (an engine stopped while creating
    one keeps it so) is never taken for a lock nor removed: the next generation is used."""
    store = FakeLockStore()
    store.put(record_name("p", 1), {"someone": "else"})
    notes: list[str] = []
    lock = _lock(store, timeout=0, on_note=notes.append)
    lock.acquire()
    assert lock.held is not None and lock.held.name == record_name("p", 2)
    assert "stackup-lock.p.1 is not a lock record" in notes[0]
    lock.release()
    assert store.objects[record_name("p", 1)][0] == {"someone": "else"}
    assert record_name("p", 2) not in store.objects
    for n in range(1, 17):
        store.put(record_name("p", n), {})
    with pytest.raises(ProjectError, match="stackup-lock.p.1 and the 15 after it exist"):
        _lock(store, timeout=0).acquire()


def test_records_round_trip_and_time_parsing() -> None:
    labels = holder_labels("p", 3, ELSEWHERE)
    record = record_from_labels("stackup-lock.p.3", labels)
    assert record is not None and record.holder == ELSEWHERE and record.generation == 3
    assert record_from_labels("x", {"io.stackup.lock": "p"}) is None
    assert record_from_labels("x", None) is None
    assert parse_time("2026-12-01T03:28:03.592773277Z") == datetime(
        2026, 12, 1, 3, 28, 3, 592773, tzinfo=timezone.utc)
    assert parse_time("2026-12-01T03:22:03Z") == datetime(2026, 12, 1, 3, 22, 3,
                                                          tzinfo=timezone.utc)
    assert parse_time("yesterday") is None and parse_time(None) is None


def test_stale_reason_rules() -> None:
    record = record_from_labels("stackup-lock.p.1", holder_labels("p", 1, ELSEWHERE),
                                datetime(2024, 1, 1, tzinfo=timezone.utc))
    assert record is not None
    now = datetime(2024, 1, 1, 0, 0, 31, tzinfo=timezone.utc)
    # same host: only the process counts, however old the record
    assert stale_reason(record, host_id="another-host", process_alive=True,
                        store_now=now.replace(hour=5), unchanged_for=9999) is None
    assert "pid 4242" in (stale_reason(record, host_id="another-host", process_alive=False,
                                       store_now=None, unchanged_for=0) or "")
    # elsewhere: the lease, with one second of slack, by either clock
    assert stale_reason(record, host_id="here", process_alive=None, store_now=now,
                        unchanged_for=0) is None
    assert stale_reason(record, host_id="here", process_alive=None,
                        store_now=now.replace(second=32), unchanged_for=0) is not None
    assert stale_reason(record, host_id="here", process_alive=None, store_now=None,
                        unchanged_for=31.5) is not None


def test_lease_from_environment() -> None:
    assert lease_from({}) == 30.0
    assert lease_from({"STACKUP_LOCK_LEASE": "5"}) == 5.0
    for bad in ("0", "-3", "soon", "nan"):
        with pytest.raises(ProjectError, match="STACKUP_LOCK_LEASE"):
            lease_from({"STACKUP_LOCK_LEASE": bad})
