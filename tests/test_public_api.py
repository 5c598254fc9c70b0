"""The public API is what __all__ says, sorted, and every name in it exists; and the package
itself uses only public APIs: no underscore module of the standard library, no private
attribute of another package (the patterns of issue 17's "done when")."""

import re
from pathlib import Path

import stackup


def test_all_is_sorted_and_resolvable() -> None:
    assert stackup.__all__ == sorted(stackup.__all__)
    for name in stackup.__all__:
        assert hasattr(stackup, name), name


def test_load_is_the_loader(tmp_path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: busybox:local\n")
    project = stackup.load([str(tmp_path / "compose.yaml")])
    assert project.name == tmp_path.name.lower()
    assert list(project.services) == ["web"]


# an underscore module of the standard library, or another package's private attribute
PRIVATE = re.compile(r"^\s*(import|from) _[a-z]|\b_socket\b|re\._cache|os\._exit|atexit\._"
                     r"|dataclasses\._", re.MULTILINE)


def test_no_private_apis_in_the_package() -> None:
    root = Path(stackup.__file__).parent
    found = [f"{path.relative_to(root)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
             for path in sorted(root.rglob("*.py"))
             for text in [path.read_text()] for m in PRIVATE.finditer(text)]
    assert found == []


def test_the_check_finds_what_it_looks_for() -> None:
    for line in ("import _socket", "from _sha2 import sha256", "    os._exit(0)",
                 "atexit._run_exitfuncs()", "re._cache.clear()", "dataclasses._FIELD"):
        assert PRIVATE.search(line), line
    for line in ("import socket", "from hashlib import sha256", "sys.exit(0)", "x = self._cache"):
        assert not PRIVATE.search(line), line
