"""The variables a stack file interpolates, with their defaults (``config --variables``).

Pipeline position: beside ``loader.interpolate``, on the merged tree loaded *without*
interpolation. Pure: strings in, ``Variable`` values out. Forms, as Compose reads them:
``$VAR``, ``${VAR}``, ``${VAR:-default}`` / ``${VAR-default}`` (a default),
``${VAR:?message}`` / ``${VAR?message}`` (required), ``${VAR:+alternate}`` / ``${VAR+alternate}``
(the value used when set); ``$$`` is a literal dollar. Defaults may hold variables themselves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    required: bool = False
    default: str | None = None
    alternate: str | None = None


def _closing(text: str, start: int) -> int:
    """Index of the ``}`` closing the ``${`` whose body starts at ``start`` (-1: none)."""
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _add(found: dict[str, Variable], var: Variable) -> None:
    old = found.get(var.name)
    if old is None:
        found[var.name] = var
        return
    found[var.name] = replace(old, required=old.required or var.required,
                              default=old.default if old.default is not None else var.default,
                              alternate=old.alternate if old.alternate is not None
                              else var.alternate)


def scan(text: str, found: dict[str, Variable]) -> None:
    """Add the variables ``text`` refers to."""
    i = 0
    while i < len(text) - 1:
        if text[i] != "$":
            i += 1
            continue
        following = text[i + 1]
        if following == "$":
            i += 2
            continue
        if following == "{":
            end = _closing(text, i + 2)
            if end < 0:
                return
            body = text[i + 2:end]
            match = _NAME.match(body)
            if match:
                rest = body[match.end():]
                var = Variable(match.group())
                for op, field in ((":-", "default"), ("-", "default"), (":?", "required"),
                                  ("?", "required"), (":+", "alternate"), ("+", "alternate")):
                    if rest.startswith(op):
                        value = rest[len(op):]
                        scan(value, found)
                        if field == "required":
                            var = replace(var, required=True)
                        elif field == "default":
                            var = replace(var, default=value)
                        else:
                            var = replace(var, alternate=value)
                        break
                _add(found, var)
            i = end + 1
            continue
        match = _NAME.match(text, i + 1)
        if match:
            _add(found, Variable(match.group()))
            i = match.end()
            continue
        i += 1


def variables_in(tree: Any) -> dict[str, Variable]:
    """Every variable the (not interpolated) tree refers to, by name, sorted."""
    found: dict[str, Variable] = {}

    def walk(value: Any) -> None:
        if isinstance(value, str):
            scan(value, found)
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif hasattr(value, "value"):  # !reset / !override wrappers
            walk(value.value)

    walk(tree)
    return {name: found[name] for name in sorted(found)}
