"""Hostile input: a property-based fuzz of the loader.

Random documents, and mutations of the valid stacks in tests/corpus/good (text edits, and values
swapped for values of another type at random key paths), go through the whole loader
(``load_project``: read, interpolate, extends, merge, parse). Each must load, or fail with a
``stackup.core.errors`` error that names the file and the line; never another exception, never more
than a second. The deliberately huge inputs (limits) are tested in test_limits.py.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stackup.core.errors import SpecError, StackupError
from stackup.loader.loader import LoadOptions, load_project

pytestmark = pytest.mark.slow  # hundreds of loads per test: `-m "not slow"` leaves it out

GOOD = Path(__file__).resolve().parent.parent / "corpus" / "good"
ENV = {"CERT_PEM": "-----BEGIN CERT-----", "HOME": "/home/me", "TAG": "1.2", "EMPTY": ""}
STACKS = {name: (GOOD / name).read_text() for name in ("webapp.yaml", "everything.yaml",
                                                         "anchors.yaml", "base.yaml")}
# CI runs a fixed set of examples (derandomized); STACKUP_FUZZ_EXAMPLES=5000 explores further.
EXAMPLES = int(os.environ.get("STACKUP_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 150,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])

# Keys stackup knows, so that random documents reach the parser's deeper branches.
KEYS = ["services", "networks", "volumes", "secrets", "configs", "name", "include", "x-a",
        "image", "build", "command", "entrypoint", "environment", "env_file", "ports", "expose",
        "depends_on", "healthcheck", "deploy", "labels", "restart", "ulimits", "logging",
        "extends", "profiles", "scale", "network_mode", "extra_hosts", "tmpfs", "devices",
        "cpus", "mem_limit", "stop_grace_period", "target", "source", "published", "condition",
        "test", "interval", "retries", "driver", "external", "file", "content", "context",
        "dockerfile", "args", "replicas", "resources", "limits", "aliases", "mode", "uid",
        "service", "web", "db", "default", "data", "tok", "type", "read_only", "bind"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "busybox:local", "8080:80", "80/udp", "1.5s", "10m", "512M", "web",
                     "service_healthy", "on-failure:3", "${TAG}", "${NOPE:?gone}", "$$", "${",
                     "~/x", "./app.env", "a=b", "/data:/data:ro", "host:1.2.3.4", "0440",
                     "CMD-SHELL", "x" * 300, "\u00e9\u2603", "- a", "{a: b}", "&a", "*a",
                     "service:web"]),
    st.text(max_size=20))


def _values(depth: int = 4) -> st.SearchStrategy[Any]:
    return st.recursive(
        SCALARS,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), children,
                            max_size=5)),
        max_leaves=25)


def _load(folder: Path, text: str) -> None:
    """Load ``text`` as folder/compose.yaml; assert a clean outcome within a second."""
    path = folder / "compose.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    started = time.monotonic()
    try:
        load_project(LoadOptions(files=(str(path),), environ=ENV, cwd=str(folder),
                                 project_name="fuzz"))
    except StackupError as error:
        _assert_located(error, path)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"took {elapsed:.2f} s"


def _assert_located(error: StackupError, path: Path) -> None:
    text = str(error)
    assert "Traceback" not in text
    if isinstance(error, SpecError):
        loc = error.location
        assert loc is not None, text
        assert loc.file and Path(loc.file).name in (path.name, "app.env", "base.yaml",
                                                    "override.yaml", "webapp.yaml"), text
        assert loc.line >= 1, text
    else:  # a ProjectError (no such service, project name ...): it still says which file
        assert error.location is not None or str(path) in text, text


@pytest.fixture()
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the good corpus (env files, files referenced by extends)."""
    target = tmp_path_factory.mktemp("fuzz")
    for item in GOOD.iterdir():
        if item.is_file():
            shutil.copy(item, target / item.name)
    return target


@FUZZ
@given(doc=_values())
def test_random_documents(folder: Path, doc: Any) -> None:
    _load(folder, yaml.safe_dump(doc, allow_unicode=True))


@FUZZ
@given(doc=st.dictionaries(st.sampled_from(["services", "networks", "volumes", "secrets",
                                            "configs"]),
                           st.dictionaries(st.sampled_from(["web", "db", "data", "tok"]),
                                           st.dictionaries(st.sampled_from(KEYS), _values(),
                                                           max_size=6),
                                           max_size=3),
                           min_size=1, max_size=3))
def test_random_stacks(folder: Path, doc: Any) -> None:
    """Documents shaped like stacks: top-level sections of named entries of known keys."""
    _load(folder, yaml.safe_dump(doc, allow_unicode=True))


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.extend(_paths(value, (*prefix, i)))
    return out


@FUZZ
@given(name=st.sampled_from(sorted(STACKS)), data=st.data())
def test_values_of_another_type_in_valid_stacks(folder: Path, name: str,
                                                data: st.DataObject) -> None:
    """Replace one to three values of a valid stack (at random key paths) with random values."""
    doc = yaml.safe_load(STACKS[name])
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        where = data.draw(st.sampled_from(paths))
        parent = doc
        for key in where[:-1]:
            parent = parent[key]
        parent[where[-1]] = data.draw(_values())
    _load(folder, yaml.safe_dump(doc, allow_unicode=True))


_EDITS = st.sampled_from(["delete", "insert", "replace", "duplicate_line", "drop_line",
                          "indent"])


@FUZZ
@given(name=st.sampled_from(sorted(STACKS)), data=st.data())
def test_text_edits_of_valid_stacks(folder: Path, name: str, data: st.DataObject) -> None:
    """Character and line edits of a valid stack's text: broken YAML, broken values."""
    text = STACKS[name]
    for _ in range(data.draw(st.integers(1, 4))):
        edit = data.draw(_EDITS)
        lines = text.splitlines(keepends=True)
        if edit in ("duplicate_line", "drop_line", "indent") and lines:
            i = data.draw(st.integers(0, len(lines) - 1))
            if edit == "duplicate_line":
                lines.insert(i, lines[i])
            elif edit == "drop_line":
                del lines[i]
            else:
                lines[i] = data.draw(st.sampled_from(["  ", "\t", " "])) + lines[i]
            text = "".join(lines)
            continue
        i = data.draw(st.integers(0, max(0, len(text) - 1)))
        piece = data.draw(st.one_of(st.sampled_from([":", "-", "[", "{", "&x", "*x", "!", "'",
                                                     '"', "\n", "  ", "<<: *x", "${", "#",
                                                     "|", ">", "%", "@", "`", "\x00", "\ufeff"]),
                                    st.text(max_size=4)))
        if edit == "delete":
            text = text[:i] + text[i + data.draw(st.integers(1, 5)):]
        elif edit == "insert":
            text = text[:i] + piece + text[i:]
        else:
            text = text[:i] + piece + text[i + 1:]
    _load(folder, text)
