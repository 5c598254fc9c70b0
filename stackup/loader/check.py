"""Typed access to raw stack-file trees, with located errors; unknown keys; references.

Pipeline position: used by ``loader.parse`` and ``loader.parse_service`` while they turn the merged,
interpolated ``LDict`` tree into the model. Every failure is a ``SpecError`` whose location
carries the file, line, column and the dotted key path (``services.web.ports[1]``).

Values arrive after interpolation, so scalars may be strings where a number or a bool is meant
("8080", "true"); the coercions here accept both, as Compose does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from stackup.core.errors import Location, SpecError
from stackup.loader.located import loc_of

T = TypeVar("T")

_TRUE = frozenset({"true", "yes", "on", "y"})
_FALSE = frozenset({"false", "no", "off", "n"})


def where(container: Any, key: Any, path: str) -> Location:
    """The location of ``container[key]`` with ``path`` as its key path."""
    loc = loc_of(container, key)
    if loc is None:
        return Location("<unknown>", path=path)
    return loc.at(path)


def fail(container: Any, key: Any, path: str, message: str) -> SpecError:
    """A SpecError "path: message" located at ``container[key]`` (raise the result)."""
    return SpecError(f"{path}: {message}", location=where(container, key, path))


def short_where(container: Any, key: Any) -> str:
    """``file:line`` of ``container[key]`` for warnings, or '' when unknown."""
    loc = loc_of(container, key)
    if loc is None or not loc.file:
        return ""
    return f" ({loc.file}:{loc.line})" if loc.line else f" ({loc.file})"


def describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def suggest(key: str, choices: Iterable[str]) -> str | None:
    """The nearest known key to a misspelled one, if any is close."""
    import difflib  # only for a file with a mistake

    found = difflib.get_close_matches(key, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def check_keys(mapping: Mapping[Any, Any], known: Iterable[str] | frozenset[str], path: str, *,
               unsupported: frozenset[str] = frozenset(), warnings: list[str] | None = None,
               extensions: bool = True) -> None:
    """Reject unknown keys (with a "did you mean" hint); warn about ``unsupported`` ones."""
    known_set = known if isinstance(known, frozenset) else frozenset(known)
    for key in mapping:
        if key in known_set:
            continue
        skey = str(key)
        if extensions and skey.startswith("x-"):
            continue
        sub = f"{path}.{skey}" if path else skey
        if skey in unsupported:
            if warnings is not None:
                warnings.append(f"{sub} is not supported by stackup and is ignored"
                                f"{short_where(mapping, key)}")
            continue
        hint = suggest(skey, known_set)
        tail = f" — did you mean '{hint}'?" if hint else ""
        raise fail(mapping, key, sub, f"unknown key '{skey}'{tail}")


# --- scalar coercions: (container, key, path) → value --------------------------------------


def as_mapping(c: Any, k: Any, path: str) -> Mapping[Any, Any]:
    value = c[k]
    if not isinstance(value, Mapping):
        raise fail(c, k, path, f"expected a mapping, found {describe(value)}")
    return value


def as_list(c: Any, k: Any, path: str) -> list[Any]:
    value = c[k]
    if not isinstance(value, list):
        raise fail(c, k, path, f"expected a list, found {describe(value)}")
    return value


def as_str(c: Any, k: Any, path: str) -> str:
    value = c[k]
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise fail(c, k, path, f"expected a string, found {describe(value)}")


def opt_str(c: Any, k: Any, path: str) -> str | None:
    return None if c[k] is None else as_str(c, k, path)


def scalar_str(c: Any, k: Any, path: str) -> str:
    """A scalar written as text: bools become "true"/"false", numbers their decimal form."""
    value = c[k]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise fail(c, k, path, f"expected a string, number or boolean, found {describe(value)}")


def as_bool(c: Any, k: Any, path: str) -> bool:
    value = c[k]
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    raise fail(c, k, path, f"expected true or false, found {describe(value)}")


def as_int(c: Any, k: Any, path: str, *, minimum: int | None = 0) -> int:
    value = c[k]
    result: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        result = value
    elif isinstance(value, float) and value.is_integer():
        result = int(value)
    elif isinstance(value, str):
        try:
            result = int(value.strip())
        except ValueError:
            result = None
    if result is None:
        raise fail(c, k, path, f"expected an integer, found {describe(value)}")
    if minimum is not None and result < minimum:
        raise fail(c, k, path, f"expected an integer >= {minimum}, found {value!r}")
    return result


def as_float(c: Any, k: Any, path: str) -> float:
    value = c[k]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise fail(c, k, path, f"expected a number, found {describe(value)}")


def as_choice(c: Any, k: Any, path: str, choices: Iterable[str]) -> str:
    value = as_str(c, k, path)
    options = tuple(choices)
    if value not in options:
        hint = suggest(value, options)
        tail = f" — did you mean '{hint}'?" if hint else ""
        raise fail(c, k, path, f"expected one of {', '.join(options)}, found {value!r}{tail}")
    return value


def convert(c: Any, k: Any, path: str, func: Callable[[Any], T]) -> T:
    """Apply a ``units`` parser, turning its ValueError into a located SpecError."""
    try:
        return func(c[k])
    except ValueError as exc:
        raise fail(c, k, path, str(exc)) from None


def as_str_list(c: Any, k: Any, path: str, *, allow_string: bool = False) -> tuple[str, ...]:
    """A list of strings (numbers allowed); a lone string too when ``allow_string``."""
    value = c[k]
    if value is None:
        return ()
    if isinstance(value, str) and allow_string:
        return (value,)
    items = as_list(c, k, path)
    return tuple(as_str(items, i, f"{path}[{i}]") for i in range(len(items)))


def as_dict_of_str(c: Any, k: Any, path: str, *, sep: str = "=",
                   missing: Callable[[str], str | None] | None = None) -> dict[str, str | None]:
    """A map, or a list of ``KEY=VALUE`` items → dict. Scalars become text.

    A list item without ``sep`` or a null map value is given to ``missing`` (None if absent).
    """
    value = c[k]
    out: dict[str, str | None] = {}
    if value is None:
        return out
    if isinstance(value, Mapping):
        for key in value:
            item = value[key]
            if item is None:
                out[str(key)] = missing(str(key)) if missing else None
            else:
                out[str(key)] = scalar_str(value, key, f"{path}.{key}")
        return out
    if isinstance(value, list):
        for i, item in enumerate(value):
            if not isinstance(item, str):  # `environment: [1, 2]`: a number is not KEY=VALUE
                raise fail(value, i, f"{path}[{i}]",
                           f"expected a 'KEY{sep}VALUE' string, found {describe(item)}")
            text = item
            name, found, rest = text.partition(sep)
            if not name:
                raise fail(value, i, f"{path}[{i}]", f"expected 'KEY{sep}VALUE', found {text!r}")
            out[name] = rest if found else (missing(name) if missing else None)
        return out
    raise fail(c, k, path, f"expected a mapping or a list, found {describe(value)}")


def freeze(value: Any) -> Any:
    """Raw YAML → hashable values: mappings → FrozenMap, lists → tuples."""
    from stackup.core.model import FrozenMap

    if isinstance(value, Mapping):
        return FrozenMap({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value


def extensions_of(mapping: Mapping[Any, Any]) -> Any:
    """The ``x-*`` keys of a mapping, frozen."""
    from stackup.core.model import FrozenMap

    return FrozenMap({k: freeze(v) for k, v in mapping.items()
                      if isinstance(k, str) and k.startswith("x-")})


def reference_error(c: Any, k: Any, path: str, kind: str, name: str,
                    known: Iterable[str]) -> SpecError:
    """"service uses undefined network 'x'" with a nearest-name hint."""
    hint = suggest(name, known)
    tail = f" — did you mean '{hint}'?" if hint else ""
    return fail(c, k, path, f"undefined {kind} '{name}'{tail} (declare it under top-level "
                            f"'{kind}s')" if kind != "service" else
                f"depends on undefined service '{name}'{tail}")

