"""The loader's limits on hostile input, and the one read of a text file that honours them.

Pipeline position: used by every step of the loader that reads a file (stack files, ``.env``,
``env_file``) or builds a value (the YAML reader, interpolation). Stack files come from pull
requests: whatever they hold, loading ends quickly with a located ``SpecError`` instead of
exhausting time, memory or Python's recursion limit. Each limit is far above what a real stack
needs (the README's "Limits" paragraph lists them):

- a file is at most ``MAX_FILE_BYTES`` (16 MiB; a 5,000-service stack is about 1.5 MB);
- one value (a scalar, before and after interpolation) is at most ``MAX_VALUE_CHARS`` (1 MiB);
- mappings and lists nest at most ``MAX_DEPTH`` (100) levels deep, aliases expanded;
- aliases may add at most ``MAX_ALIAS_NODES`` (100,000) nodes to a document ("billion laughs");
- ``${...}`` nests at most ``MAX_INTERPOLATION_DEPTH`` (20) levels deep;
- an image reference is at most ``MAX_IMAGE_CHARS`` (1,024) characters.
"""

from __future__ import annotations

import os

from stackup.core.errors import Location, SpecError

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_VALUE_CHARS = 1024 * 1024
MAX_DEPTH = 100
MAX_ALIAS_NODES = 100_000
MAX_INTERPOLATION_DEPTH = 20
MAX_IMAGE_CHARS = 1024


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def check_text_size(text: str, file: str) -> None:
    """Refuse text (stdin) larger than a file may be."""
    if len(text) > MAX_FILE_BYTES:
        raise SpecError(f"{file} is too large: more than {_mib(MAX_FILE_BYTES)}",
                        detail="stackup refuses stack and env files above this size.",
                        location=Location(file))


def read_text(path: str, *, encoding: str = "utf-8-sig") -> str:
    """The text of ``path``, refused (``SpecError``) above ``MAX_FILE_BYTES`` before it is read.
    ``OSError`` passes through: callers say which file needed it. Bytes that are not UTF-8 are a
    ``SpecError`` naming the file and the line."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size  # 0 for a pipe: read at most the limit
        data = handle.read(MAX_FILE_BYTES + 1) if size <= MAX_FILE_BYTES else b""
    if max(size, len(data)) > MAX_FILE_BYTES:
        raise SpecError(f"{path} is too large: {_mib(max(size, len(data)))}, more than "
                        f"{_mib(MAX_FILE_BYTES)}",
                        detail="stackup refuses stack and env files above this size.",
                        location=Location(path))
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(f"{path} is not UTF-8 text: byte {data[exc.start]:#04x} cannot be "
                        "decoded", detail="Save the file as UTF-8.",
                        location=Location(path, line, column)) from None


def value_too_long(length: int, where: Location | None, what: str = "value") -> SpecError:
    return SpecError(f"{what} is too long: {length} characters, more than {MAX_VALUE_CHARS}",
                     detail="stackup refuses values above this size (a secret or config that "
                            "large belongs in a file: `file:`).", location=where)
