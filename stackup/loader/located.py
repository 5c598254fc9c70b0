"""Raw YAML trees that remember where each value came from.

Pipeline position: the YAML reader builds these; interpolation, merge and ``extends`` keep them;
the parser turns them into the model and uses the locations in its error messages. Nothing past
``loader.parse`` sees them.

An ``LDict`` / ``LList`` is a plain ``dict`` / ``list`` with two extra attributes: ``loc`` (where
the mapping or sequence itself starts) and ``key_locs`` / ``item_locs`` (where each entry's value
starts). Scalars stay plain Python values; ask their container with :func:`loc_of`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from stackup.core.errors import Location


class LDict(dict[Any, Any]):
    """A mapping from a stack file, with the location of itself and of each value."""

    __slots__ = ("loc", "key_locs")

    def __init__(self, *args: Any, loc: Location | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loc = loc
        self.key_locs: dict[Any, Location] = {}


class LList(list[Any]):
    """A sequence from a stack file, with the location of itself and of each item."""

    __slots__ = ("loc", "item_locs")

    def __init__(self, *args: Any, loc: Location | None = None) -> None:
        super().__init__(*args)
        self.loc = loc
        self.item_locs: list[Location | None] = []


def loc_of(container: Any, key: Any = None) -> Location | None:
    """Where ``container[key]`` was written (or the container itself when ``key`` is None)."""
    if key is None:
        return getattr(container, "loc", None)
    if isinstance(container, LDict):
        return container.key_locs.get(key, container.loc)
    if isinstance(container, LList) and isinstance(key, int):
        if 0 <= key < len(container.item_locs) and container.item_locs[key] is not None:
            return container.item_locs[key]
        return container.loc
    return getattr(container, "loc", None)


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def locate(tree: Mapping[str, Any] | None, path: str) -> Location | None:
    """Where ``path`` (``services.web.ports[0]``) was written, or its nearest written parent."""
    if tree is None:
        return None
    node: Any = tree
    found = loc_of(tree)
    for match in _STEP.finditer(path):
        key: Any = match.group(1) if match.group(1) is not None else int(match.group(2))
        try:
            child = node[key]
        except (KeyError, IndexError, TypeError):
            break
        here = loc_of(node, key)
        if here is not None:
            found = here
        node = child
    return found.at(path) if found is not None else None
