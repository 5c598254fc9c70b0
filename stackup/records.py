"""``@dataclass`` without the start-up cost: the model's record classes, built without ``exec``.

Pipeline position: the bottom layer; ``model``, ``plan``, ``observed``, ``errors`` and the rest
import ``dataclass`` and ``field`` from here instead of from :mod:`dataclasses`.

Why: the standard decorator writes each class's ``__init__``, ``__eq__``, ``__hash__``,
``__repr__`` and ``__setattr__`` as source text and compiles it at import. With about 60 record
classes on the path of every command that was a third of a no-op ``stackup up`` (54 ms of
160 ms, docs/benchmarks.md). Here the methods are shared closures over the class's field table;
nothing is compiled, and the per-instance work is a few dict operations done in C.

What stays the same: the decorator takes the same arguments as the standard one does where this
code base uses them (``frozen``), ``field(default=..., default_factory=..., compare=...,
repr=...)`` is the standard ``dataclasses.field``, and each class carries the standard
``__dataclass_fields__``, so ``dataclasses.fields``, ``replace``, ``asdict`` and
``is_dataclass`` work on it unchanged (tests/test_records.py holds both to the same behaviour).
Not supported, and refused at class creation: inheritance between records, ``InitVar``,
``ClassVar`` and ``__post_init__`` (none is used).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, overload

__all__ = ["dataclass", "field"]

field = dataclasses.field
T = TypeVar("T")


@overload
def dataclass(cls: type[T], /) -> type[T]: ...


@overload
def dataclass(*, frozen: bool = False) -> Callable[[type[T]], type[T]]: ...


def dataclass(cls: type[T] | None = None, /, *,
              frozen: bool = False) -> type[T] | Callable[[type[T]], type[T]]:
    """``@dataclass`` or ``@dataclass(frozen=True)``, as the standard decorator."""
    if cls is None:
        return lambda c: _build(c, frozen)
    return _build(cls, frozen)


def _fields_of(cls: type) -> dict[str, dataclasses.Field[Any]]:
    for base in cls.__mro__[1:]:
        if "__dataclass_fields__" in base.__dict__:
            raise TypeError(f"{cls.__name__}: inheritance between records is not supported")
    if "__post_init__" in cls.__dict__:
        raise TypeError(f"{cls.__name__}: __post_init__ is not supported")
    fields: dict[str, dataclasses.Field[Any]] = {}
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        text = annotation if isinstance(annotation, str) else repr(annotation)
        if "ClassVar" in text or "InitVar" in text:
            raise TypeError(f"{cls.__name__}.{name}: ClassVar and InitVar are not supported")
        value = cls.__dict__.get(name, dataclasses.MISSING)
        if isinstance(value, dataclasses.Field):
            spec = value
        else:
            spec = dataclasses.field(default=value)
        if isinstance(spec.default, (list, dict, set)):
            raise ValueError(f"mutable default {type(spec.default)} for field {name} "
                             "is not allowed: use default_factory")
        spec.name = name
        spec.type = annotation
        spec._field_type = dataclasses._FIELD  # type: ignore[attr-defined]  # read by fields()
        if spec.default is dataclasses.MISSING:
            if name in cls.__dict__:
                delattr(cls, name)  # a field(default_factory=...) or field() left on the class
        else:
            setattr(cls, name, spec.default)
        fields[name] = spec
    return fields


def _build(cls: type[T], frozen: bool) -> type[T]:
    fields = _fields_of(cls)
    names = tuple(fields)
    name_set = frozenset(names)
    defaults = {n: f.default for n, f in fields.items() if f.default is not dataclasses.MISSING}
    factories = tuple((n, f.default_factory) for n, f in fields.items()
                      if f.default_factory is not dataclasses.MISSING)
    seen_default = False
    for n, f in fields.items():
        has_default = n in defaults or f.default_factory is not dataclasses.MISSING
        if seen_default and not has_default:
            raise TypeError(f"non-default argument {n!r} follows default argument")
        seen_default = seen_default or has_default
    qualname = cls.__qualname__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(names):
            raise TypeError(f"{qualname}() takes {len(names)} positional arguments "
                            f"but {len(args)} were given")
        values = dict(defaults)
        values.update(zip(names, args))
        if kwargs:
            unknown = kwargs.keys() - name_set
            if unknown:
                raise TypeError(f"{qualname}() got an unexpected keyword argument "
                                f"{min(unknown)!r}")
            twice = kwargs.keys() & set(names[:len(args)])
            if twice:
                raise TypeError(f"{qualname}() got multiple values for argument {min(twice)!r}")
            values.update(kwargs)
        for n, factory in factories:
            if n not in values:
                values[n] = factory()
        if len(values) < len(names):
            missing = [n for n in names if n not in values]
            raise TypeError(f"{qualname}() missing required argument(s): "
                            + ", ".join(repr(n) for n in missing))
        self.__dict__.update(values)

    compared = tuple(n for n, f in fields.items() if f.compare)
    key: Callable[[Any], Any] = attrgetter(*compared) if compared else (lambda _self: ())

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is self.__class__:
            return bool(key(self) == key(other))
        return NotImplemented

    shown = tuple(n for n, f in fields.items() if f.repr)

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in shown)
        return f"{self.__class__.__qualname__}({inner})"

    methods: dict[str, Any] = {"__init__": __init__, "__eq__": __eq__, "__repr__": __repr__}
    if frozen:
        def __hash__(self: Any) -> int:
            return hash(key(self))

        def __setattr__(self: Any, name: str, value: Any) -> None:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

        def __delattr__(self: Any, name: str) -> None:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

        methods.update(__hash__=__hash__, __setattr__=__setattr__, __delattr__=__delattr__)
    elif "__hash__" not in cls.__dict__:
        methods["__hash__"] = None  # type: ignore[assignment]  # eq without frozen: unhashable
    for attr, method in methods.items():
        if attr not in cls.__dict__ or attr == "__hash__" and cls.__dict__[attr] is None:
            if method is not None:
                method.__qualname__ = f"{qualname}.{attr}"
            setattr(cls, attr, method)
    cls.__dataclass_fields__ = fields  # type: ignore[attr-defined]
    cls.__match_args__ = names  # type: ignore[attr-defined]
    return cls
