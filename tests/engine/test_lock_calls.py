"""What the project lock costs every changing command: an uncontended take and release is three
store calls (create, list, remove) and leaves nothing behind; a lock held elsewhere is still
waited for; after renewals, release still removes every record of its own."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import pytest

from stackup.adapters.memory_lock import FakeLockStore
from stackup.app.locking import ProjectLock
from stackup.core.errors import LockHeld


class CountingStore(FakeLockStore):
    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()

    def __getattribute__(self, name: str) -> Any:
        if name in ("create_or_get", "records", "get", "remove"):
            object.__getattribute__(self, "calls")[name] += 1
        return object.__getattribute__(self, name)


def test_an_uncontended_lock_is_three_calls_and_leaves_nothing() -> None:
    store = CountingStore()
    lock = ProjectLock(store, "p", "stackup up")
    lock.acquire()
    assert [r.holder.token for r in store.records("p")] == [lock.me.token]
    store.calls.clear()
    lock.release()
    assert store.calls == Counter(remove=1)
    assert store.records("p") == []

    store.calls.clear()
    lock = ProjectLock(store, "p", "stackup up")
    lock.acquire()
    lock.release()
    assert store.calls == Counter(create_or_get=1, records=1, remove=1)
    assert store.records("p") == []


def test_a_lock_held_at_a_higher_generation_is_not_taken_by_the_shortcut() -> None:
    from stackup.ports.lock import holder_labels, record_name

    store = CountingStore()
    holder = ProjectLock(store, "p", "stackup up")
    holder.acquire()
    holder.release()
    # a live holder elsewhere at generation 3 (generation 1 is free)
    other = ProjectLock(store, "p", "stackup down")
    other.me = dataclasses.replace(other.me, token="t-other", host_id="another-host")
    store.create_or_get(record_name("p", 3), holder_labels("p", 3, other.me))
    waiter = ProjectLock(store, "p", "stackup up", timeout=0)
    with pytest.raises(LockHeld, match="stackup down"):
        waiter.acquire()
    assert [r.generation for r in store.records("p")] == [3]  # its try at 1 was given back


def test_after_renewals_release_removes_every_record_of_its_own() -> None:
    store = CountingStore()
    lock = ProjectLock(store, "p", "stackup up", lease=1.0)  # renews every 0.2 s
    lock.acquire()
    first = lock.held
    assert first is not None
    for _ in range(100):
        held = lock.held
        if held is not None and held.generation >= first.generation + 2:
            break
        lock._stop.wait(0.05)
    held = lock.held
    assert held is not None and held.generation >= first.generation + 2
    # a renewal that could not remove the generation before it leaves a record of ours behind
    from stackup.ports.lock import holder_labels, record_name

    store.create_or_get(record_name("p", 1), holder_labels("p", 1, lock.me))
    lock.release()
    assert store.records("p") == []
