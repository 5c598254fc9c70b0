"""Read ``.env`` / ``--env-file`` / ``env_file:`` files with Compose's rules.

Pipeline position: used by the loader to build the interpolation environment (``.env`` and
``--env-file``) and by the parser for a service's ``env_file:``. Reads the file; never touches
``os.environ``.

Rules: ``KEY=VAL`` and ``export KEY=VAL``; ``#`` comment lines and blank lines are skipped;
``'single'`` quotes are literal; ``"double"`` quotes understand ``\\n \\t \\r \\\\ \\" \\$`` and
may span lines; unquoted values are trimmed and lose an inline `` #comment``. A bare ``KEY`` line
(no ``=``) maps to ``None``: "take the value from the environment" in ``env_file`` context.
When ``lookup`` is given, ``${VAR}`` in unquoted and double-quoted values is expanded with the
keys defined earlier in the file first, then ``lookup``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from stackup.core.errors import Location, SpecError
from stackup.loader.interpolate import interpolate_string
from stackup.loader.limits import read_text

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"'}


def parse_env_text(text: str, file: str,
                   lookup: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """Parse the text of an env file (``file`` is used in error locations)."""
    result: dict[str, str | None] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        lineno = i + 1
        line = lines[i].strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        if line.startswith("export ") or line.startswith("export\t"):
            line = line[7:].lstrip()
        where = Location(file, lineno)
        if "=" not in line:
            if not _KEY.match(line):
                raise SpecError(f"invalid line in env file {file}: {line!r}",
                                detail="Expected KEY=VALUE.", location=where)
            result[line] = None
            continue
        key, raw = line.split("=", 1)
        key = key.strip()
        if not _KEY.match(key):
            raise SpecError(f"invalid variable name {key!r} in env file {file}",
                            detail="Names start with a letter or '_' and contain letters, "
                                   "digits, '_', '.' or '-'.", location=where)
        raw = raw.lstrip()
        expand = True
        value: str
        if raw[:1] in ("'", '"'):
            quote = raw[0]
            body = raw[1:]
            while not _closes(body, quote):
                if i >= len(lines):
                    raise SpecError(f"unterminated {quote} quote in env file {file}",
                                    location=where)
                body += "\n" + lines[i]
                i += 1
            end = _closing_index(body, quote)
            rest = body[end + 1:].strip()
            if rest and not rest.startswith("#"):
                raise SpecError(f"unexpected text after the closing quote in env file {file}",
                                location=where)
            body = body[:end]
            if quote == "'":
                value, expand = body, False
            else:
                value = _unescape(body, "$$" if lookup is not None else "$")
        else:
            cuts = [p for p in (raw.find(" #"), raw.find("\t#")) if p >= 0]
            value = (raw[:min(cuts)] if cuts else raw).strip()
        if expand and lookup is not None and "$" in value:
            value = interpolate_string(value, _Scope(result, lookup), where)
        result[key] = value
    return result


class _Scope(Mapping[str, str]):
    """Values defined earlier in the file, falling back to the outer lookup."""

    def __init__(self, local: Mapping[str, str | None], outer: Mapping[str, str]) -> None:
        self.local, self.outer = local, outer

    def __getitem__(self, key: str) -> str:
        value = self.local.get(key)
        if value is not None:
            return value
        return self.outer[key]

    def __iter__(self) -> Iterator[str]:
        return iter({**self.outer, **{k: v for k, v in self.local.items() if v is not None}})

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _closing_index(body: str, quote: str) -> int:
    k = 0
    while True:
        k = body.find(quote, k)
        if k < 0:
            return -1
        if quote == '"':
            backslashes = 0
            b = k - 1
            while b >= 0 and body[b] == "\\":
                backslashes += 1
                b -= 1
            if backslashes % 2:
                k += 1
                continue
        return k


def _closes(body: str, quote: str) -> bool:
    return _closing_index(body, quote) >= 0


def _unescape(body: str, dollar: str) -> str:
    out: list[str] = []
    k = 0
    while k < len(body):
        c = body[k]
        if c == "\\" and k + 1 < len(body):
            nxt = body[k + 1]
            out.append(dollar if nxt == "$" else _ESCAPES.get(nxt, "\\" + nxt))
            k += 2
            continue
        out.append(c)
        k += 1
    return "".join(out)


def parse_env_file(path: str, lookup: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """Read and parse an env file; a missing or unreadable file is a ``SpecError``."""
    try:
        text = read_text(path)
    except OSError as err:
        raise SpecError(f"cannot read env file {path}: {err.strerror}",
                        location=Location(path)) from None
    return parse_env_text(text, path, lookup)
