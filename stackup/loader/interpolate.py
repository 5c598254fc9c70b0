"""Expand ``$VAR`` / ``${VAR...}`` in every string value of a located tree.

Pipeline position: yamlsrc → **interpolate** → extends → merge → parse. Keys are never
interpolated, values always (``x-`` extensions included, and inside ``!reset``/``!override``).
The environment is passed in; nothing here reads ``os.environ``.

Supported: ``$VAR``, ``${VAR}``, ``${VAR:-d}``, ``${VAR-d}``, ``${VAR:?msg}``, ``${VAR?msg}``,
``${VAR:+alt}``, ``${VAR+alt}``, nesting inside the word (``${A:-${B:-x}}``), ``$$`` → ``$``.
A ``$`` not followed by a name, ``{`` or ``$`` is kept as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stackup.core.errors import InterpolationError, Location
from stackup.loader.limits import MAX_INTERPOLATION_DEPTH, MAX_VALUE_CHARS, value_too_long
from stackup.loader.located import LDict, LList
from stackup.loader.yamlsrc import Override, Reset

_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_CHARS = _NAME_START | frozenset("0123456789")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


class _Expander:
    def __init__(self, env: Mapping[str, str], warnings: list[str]) -> None:
        self.env = env
        self.warnings = warnings
        self.seen: set[str] = set()
        self.text = ""
        self.where: Location | None = None
        self.depth = 0  # ${ nesting

    def fail(self, summary: str, detail: str = "") -> InterpolationError:
        return InterpolationError(summary, detail=detail, location=self.where)

    def unset(self, name: str) -> str:
        message = f'The "{name}" variable is not set. Defaulting to a blank string.'
        if self.where is not None:
            message = f"{self.where}: {message}"
        if message not in self.seen:
            self.seen.add(message)
            self.warnings.append(message)
        return ""

    def expand(self, text: str, where: Location | None) -> str:
        self.text, self.where, self.depth = text, where, 0
        out, _ = self.template(0, nested=False, active=True)
        if len(out) > MAX_VALUE_CHARS:
            raise value_too_long(len(out), where, "the interpolated value")
        return out

    def template(self, i: int, *, nested: bool, active: bool) -> tuple[str, int]:
        """Expand from ``i`` to the end (or to the unmatched ``}`` when ``nested``)."""
        text = self.text
        parts: list[str] = []
        total = 0  # characters taken from the environment so far
        n = len(text)
        while i < n:
            j = text.find("$", i) if not nested else _find_any(text, i)
            if j < 0:
                parts.append(text[i:])
                i = n
                break
            parts.append(text[i:j])
            if text[j] == "}":  # only when nested
                return "".join(parts), j
            i = j + 1
            if i >= n:
                parts.append("$")
                break
            c = text[i]
            if c == "$":
                parts.append("$")
                i += 1
            elif c == "{":
                value, i = self.braced(i + 1, active)
                parts.append(value)
                total += len(value)
            elif c in _NAME_START:
                k = i + 1
                while k < n and text[k] in _NAME_CHARS:
                    k += 1
                name = text[i:k]
                i = k
                if active:
                    found = self.env.get(name)
                    parts.append(self.unset(name) if found is None else found)
                    total += len(parts[-1])
            else:
                parts.append("$")
            if total > MAX_VALUE_CHARS:  # refuse before joining: `${BIG}` a million times
                raise value_too_long(total + len(text), self.where, "the interpolated value")
        if nested:
            raise self.fail(f"invalid interpolation format in {_show(text)}: missing '}}'",
                            'Close every "${" with "}" (write "$$" for a literal "$").')
        return "".join(parts), i

    def braced(self, i: int, active: bool) -> tuple[str, int]:
        text = self.text
        k = i
        n = len(text)
        while k < n and text[k] in _NAME_CHARS:
            k += 1
        name = text[i:k]
        if not name or name[0] not in _NAME_START:
            raise self.fail(f"invalid interpolation format in {_show(text)}",
                            "Write ${NAME}, ${NAME:-default} or ${NAME:?error}; "
                            'use "$$" for a literal "$".')
        if k < n and text[k] == "}":
            if not active:
                return "", k + 1
            value = self.env.get(name)
            return (self.unset(name) if value is None else value), k + 1
        op = next((o for o in _OPERATORS if text.startswith(o, k)), None)
        if op is None:
            raise self.fail(f"invalid interpolation format in {_show(text)}",
                            f"Unexpected character after ${{{name}; expected '}}', ':-', '-', "
                            "':?', '?', ':+' or '+'.")
        value = self.env.get(name)
        is_set = value is not None
        usable = bool(value) if op.startswith(":") else is_set
        kind = op[-1]
        take_word = (kind == "-" and not usable) or (kind == "+" and usable) or \
                    (kind == "?" and not usable)
        self.depth += 1
        if self.depth > MAX_INTERPOLATION_DEPTH:
            raise self.fail(f"interpolation nests more than {MAX_INTERPOLATION_DEPTH} levels "
                            f"deep in {_show(text)}")
        word, end = self.template(k + len(op), nested=True, active=active and take_word)
        self.depth -= 1
        end += 1
        if not active:
            return "", end
        if kind == "-":
            return (word if not usable else str(value)), end
        if kind == "+":
            return (word if usable else ""), end
        if not usable:  # "?": required
            reason = word or ("empty" if is_set else "not set")
            raise self.fail(f'required variable "{name}" is missing a value: {reason}')
        return str(value), end


def _show(text: str) -> str:
    """A value for an error message: quoted, cut after 200 characters."""
    return repr(text) if len(text) <= 200 else repr(text[:200]) + "..."


def _find_any(text: str, i: int) -> int:
    """The next ``$`` or ``}`` at or after ``i`` (or -1)."""
    a = text.find("$", i)
    b = text.find("}", i)
    if a < 0:
        return b
    if b < 0:
        return a
    return min(a, b)


def interpolate_string(text: str, env: Mapping[str, str], where: Location | None = None,
                       warnings: list[str] | None = None) -> str:
    """Expand one string; unset-variable warnings go to ``warnings`` when given."""
    if "$" not in text:
        return text
    return _Expander(env, warnings if warnings is not None else []).expand(text, where)


def interpolate(tree: Any, env: Mapping[str, str]) -> tuple[Any, list[str]]:
    """A copy of ``tree`` with every string value expanded, and the warnings produced."""
    warnings: list[str] = []
    expander = _Expander(env, warnings)

    def walk(value: Any, where: Location | None) -> Any:
        if isinstance(value, str):
            return expander.expand(value, where) if "$" in value else value
        if isinstance(value, LDict):
            out = LDict(loc=value.loc)
            locs = value.key_locs
            out.key_locs = dict(locs)
            for key, item in value.items():
                out[key] = walk(item, locs.get(key, value.loc))
            return out
        if isinstance(value, LList):
            lst = LList(loc=value.loc)
            lst.item_locs = list(value.item_locs)
            ilocs = value.item_locs
            for idx, item in enumerate(value):
                lst.append(walk(item, ilocs[idx] if idx < len(ilocs) else value.loc))
            return lst
        if isinstance(value, Reset):
            return Reset(walk(value.value, where))
        if isinstance(value, Override):
            return Override(walk(value.value, where))
        if isinstance(value, dict):
            return {k: walk(v, where) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, where) for v in value]
        return value

    return walk(tree, getattr(tree, "loc", None)), warnings
