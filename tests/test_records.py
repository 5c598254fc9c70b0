"""stackup.records against the standard ``dataclasses.dataclass``: the same class written with
each decorator must behave the same for everything the code base does with its records."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import Any

import pytest

from stackup import records
from stackup.model import FrozenMap, Service


def _empty() -> FrozenMap[str, str]:
    return FrozenMap()


def _pair(decorate: Any, frozen: bool) -> type:
    field = dataclasses.field

    class Point:
        x: int
        y: int = 2
        tags: tuple[str, ...] = ()
        env: FrozenMap[str, str] = field(default_factory=_empty)
        note: str = field(default="", compare=False, repr=False)

    Point.__qualname__ = "Point"
    return decorate(frozen=frozen)(Point) if frozen else decorate(Point)


@pytest.fixture(params=[True, False], ids=["frozen", "mutable"])
def classes(request: pytest.FixtureRequest) -> tuple[type, type]:
    return (_pair(dataclasses.dataclass, request.param),
            _pair(records.dataclass, request.param))


def test_construction_repr_eq_and_errors_match(classes: tuple[type, type]) -> None:
    std, ours = classes
    for args, kwargs in [((1,), {}), ((1, 5), {"tags": ("a",)}), ((), {"x": 3, "note": "n"}),
                         ((1, 2, ("t",), FrozenMap({"A": "1"}), "n"), {})]:
        a, b = std(*args, **kwargs), ours(*args, **kwargs)
        assert repr(a) == repr(b)
        assert [getattr(a, f.name) for f in dataclasses.fields(a)] == \
            [getattr(b, f.name) for f in dataclasses.fields(b)]
    assert ours(1, note="a") == ours(1, note="b")  # compare=False
    assert ours(1) != ours(2) and ours(1) != std(1)
    for args, kwargs in [((), {}), ((1, 2, 3, 4, 5, 6), {}), ((1,), {"x": 1}),
                         ((1,), {"z": 1})]:
        with pytest.raises(TypeError):
            std(*args, **kwargs)
        with pytest.raises(TypeError):
            ours(*args, **kwargs)
    assert std(1).env is not std(1).env and ours(1).env is not ours(1).env  # a fresh default


def test_frozen_records_are_hashable_and_refuse_assignment() -> None:
    ours = _pair(records.dataclass, True)
    a = ours(1, tags=("x",))
    assert hash(a) == hash(ours(1, tags=("x",))) and len({a, ours(1, tags=("x",))}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.x = 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        del a.x
    mutable = _pair(records.dataclass, False)
    b = mutable(1)
    b.x = 9
    assert b.x == 9
    with pytest.raises(TypeError):
        hash(b)  # eq without frozen, as the standard decorator


def test_dataclasses_helpers_work_on_records() -> None:
    ours = _pair(records.dataclass, True)
    a = ours(1, note="kept")
    assert dataclasses.is_dataclass(a)
    assert [f.name for f in dataclasses.fields(ours)] == ["x", "y", "tags", "env", "note"]
    b = dataclasses.replace(a, y=7)
    assert (b.x, b.y, b.note, a.y) == (1, 7, "kept", 2)
    assert dataclasses.asdict(a)["y"] == 2
    assert ours.__match_args__ == ("x", "y", "tags", "env", "note")
    assert copy.deepcopy(a) == a and copy.copy(a) == a


def test_the_model_is_built_with_records() -> None:
    service = Service(name="web", image="busybox")
    assert "__dataclass_fields__" in Service.__dict__ and service.replicas == 1
    assert dataclasses.replace(service, image="x").image == "x"
    assert pickle.loads(pickle.dumps(service)) == service
    assert Service.__init__.__code__.co_filename.endswith("records.py")


def test_unsupported_shapes_are_refused() -> None:
    @records.dataclass
    class Base:
        a: int = 1

    with pytest.raises(TypeError, match="inheritance"):
        @records.dataclass
        class Child(Base):
            b: int = 2

    with pytest.raises(TypeError, match="follows default"):
        @records.dataclass
        class Bad:
            a: int = 1
            b: int
