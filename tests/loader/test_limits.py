"""Bad and absurd input: each is refused fast with a located error naming the file and line.

The limits are documented in the README ("Limits") and in ``stackup.loader.limits``.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from stackup.core.errors import SpecError
from stackup.loader import limits
from stackup.loader.loader import LoadOptions, load_project


def _write(folder: Path, text: str | bytes) -> None:
    path = folder / "compose.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)


def _load(folder: Path, text: str | bytes | None, environ: dict[str, str] | None = None) -> None:
    if text is not None:
        _write(folder, text)
    path = folder / "compose.yaml"
    load_project(LoadOptions(files=(str(path),), environ=environ or {}, cwd=str(folder),
                             project_name="limits"))


@contextmanager
def _fast(seconds: float = 1.0, megabytes: float = 64) -> Iterator[None]:
    """The block ends within ``seconds`` and allocates at most ``megabytes`` at its peak."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        yield
    finally:
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < seconds, f"took {elapsed:.2f} s"
    assert peak < megabytes * 2**20, f"peak {peak / 2**20:.1f} MiB"


def _refused(folder: Path, text: str | bytes, *, line: int | None, match: str,
             environ: dict[str, str] | None = None, **fast: float) -> SpecError:
    _write(folder, text)
    with _fast(**fast), pytest.raises(SpecError, match=match) as caught:
        _load(folder, None, environ)
    loc = caught.value.location
    assert loc is not None and loc.file == str(folder / "compose.yaml")
    if line is not None:
        assert loc.line == line, str(caught.value)
    return caught.value


def test_a_20_mb_image_reference_is_refused_before_reading(tmp_path: Path) -> None:
    text = "services:\n  a:\n    image: " + "x" * 20_000_000 + "\n"
    _refused(tmp_path, text, line=None, match="too large: 19.1 MiB, more than 16.0 MiB",
             seconds=0.5, megabytes=16)


def test_long_values_are_refused_with_their_line(tmp_path: Path) -> None:
    huge = "x" * (limits.MAX_VALUE_CHARS + 1)
    _refused(tmp_path, f"services:\n  a:\n    image: busybox\n    command: {huge}\n", line=4,
             match="value is too long")
    image = "x" * (limits.MAX_IMAGE_CHARS + 1)
    _refused(tmp_path, f"services:\n  a:\n    image: {image}\n", line=3,
             match="services.a.image: an image reference is at most 1024 characters")


def test_interpolation_cannot_blow_a_value_up(tmp_path: Path) -> None:
    env = {"BIG": "y" * 100_000}
    _refused(tmp_path, "services:\n  a:\n    image: busybox\n    environment:\n      A: "
             + "${BIG}" * 1000 + "\n", line=5, match="interpolated value is too long",
             environ=env)
    _refused(tmp_path, "services:\n  a:\n    image: busybox\n    labels:\n      a: "
             + "${A:-" * 500 + "}" * 500 + "\n", line=5, match="nests more than 20 levels")


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    deep = "[" * 900 + "]" * 900
    _refused(tmp_path, f"services:\n  a:\n    image: busybox\n    x-deep: {deep}\n", line=4,
             match="nest more than 100 levels")
    block = "".join(f"\n{'  ' * (i + 3)}k:" for i in range(300))
    _refused(tmp_path, f"services:\n  a:\n    image: busybox\n    x-deep:{block} v\n",
             line=None, match="nest more than 100 levels")
    _load(tmp_path, "services:\n  a:\n    image: busybox\n    x-ok: " + "[" * 90 + "]" * 90
          + "\n")


def test_alias_expansion_is_bounded(tmp_path: Path) -> None:
    lines = ["x-a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 9):
        lines.append(f"x-a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    text = "\n".join(lines) + "\nservices:\n  a:\n    image: busybox\n"
    _refused(tmp_path, text, line=None, match="aliases expand the document by more than 100000")
    _refused(tmp_path, "x-a: &a [*a]\nservices: {}\n", line=1, match="recursive YAML alias")


def test_wrong_item_types_name_the_item(tmp_path: Path) -> None:
    _refused(tmp_path, "services:\n  a:\n    image: busybox\n    environment: [1, 2]\n", line=4,
             match=r"services.a.environment\[0\]: expected a 'KEY=VALUE' string, found 1")
    _refused(tmp_path, "services:\n  a:\n    image: busybox\n    labels:\n      - true\n",
             line=5, match=r"services.a.labels\[0\]: expected a 'KEY=VALUE' string, found True")
    _refused(tmp_path, "services:\n  a:\n    image: busybox\n    secrets:\n      - source: s\n"
                       "        uid: root\nsecrets:\n  s:\n    content: x\n", line=6,
             match=r"services.a.secrets\[0\].uid: expected a numeric id, found 'root'")
    _refused(tmp_path, "services:\n", line=1, match="services: expected a mapping of service "
                                                    "names, found null")


def test_an_empty_file_is_named(tmp_path: Path) -> None:
    for text in ("", "\n\n", "# only a comment\n", "~\n"):
        _refused(tmp_path, text, line=1, match=f"{tmp_path / 'compose.yaml'} is empty")
    with pytest.raises(SpecError, match="standard input is empty"):
        load_project(LoadOptions(files=("-",), stdin="", environ={}, cwd=str(tmp_path),
                                 project_name="limits"))


def test_a_service_without_image_or_build_points_at_the_service(tmp_path: Path) -> None:
    _refused(tmp_path, "services:\n  ok:\n    image: busybox\n  web:\n    command: echo hi\n",
             line=4, match="services.web: a service needs 'image' or 'build'")
    _refused(tmp_path, "services:\n  web:\n    image: ~\n", line=2,
             match="services.web: a service needs 'image' or 'build'")


def test_bytes_that_are_not_text(tmp_path: Path) -> None:
    _refused(tmp_path, b"services:\n  a:\n    image: \xff\xfe\n", line=3,
             match="not UTF-8 text: byte 0xff")
    _refused(tmp_path, "services:\n  a:\n    image: a\x1fb\n", line=3,
             match=r"character '\\x1f' is not allowed")


def test_huge_env_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("A=" + "x" * (limits.MAX_FILE_BYTES + 1) + "\n")
    with _fast(), pytest.raises(SpecError, match=r"\.env is too large"):
        _load(tmp_path, "services:\n  a:\n    image: busybox\n")
