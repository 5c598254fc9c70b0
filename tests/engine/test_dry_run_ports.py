"""``--dry-run`` implements every Engine port method on purpose: read, write or interactive."""

from __future__ import annotations

import inspect

import pytest

from stackup.ports.engine import Engine
from stackup.adapters.dry_run import INTERACTIVE, READS, WRITES, DryRunEngine, DryRunNotSupported
from stackup.testing.fake import FakeEngine


def _port_methods() -> set[str]:
    return {name for name, member in inspect.getmembers(Engine, inspect.isfunction)
            if not name.startswith("_")}


def test_every_port_method_is_sorted_once() -> None:
    sorted_ = [READS, WRITES, INTERACTIVE]
    assert _port_methods() == READS | WRITES | INTERACTIVE, (
        "a port method is missing from (or extra in) dry_run's READS / WRITES / INTERACTIVE")
    for i, group in enumerate(sorted_):
        for other in sorted_[i + 1:]:
            assert not group & other, f"sorted twice: {group & other}"


def test_writes_are_recorded_not_made_and_interactive_is_refused() -> None:
    engine = FakeEngine()
    dry = DryRunEngine(engine)
    dry.create_network("demo", object())
    dry.stop_container("demo", "abc")
    assert [name for name, _ in dry.calls] == ["create_network", "stop_container"]
    assert engine.calls == []  # nothing reached the engine
    assert dry.observe("demo") == engine.observe("demo")  # reads do reach it
    for name in sorted(INTERACTIVE):
        with pytest.raises(DryRunNotSupported, match="not supported in dry-run mode"):
            getattr(dry, name)("x")
    with pytest.raises(AttributeError, match="sort it into"):
        dry.something_new  # noqa: B018 - an unsorted name is an error, not a silent pass-through
