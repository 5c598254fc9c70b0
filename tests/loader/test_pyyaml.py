"""``stackup.loader.pyyaml``: PyYAML's reader check of printable characters, compiled from its
complement, matches exactly the characters PyYAML's own pattern does, and that pattern is still
the one PyYAML compiles."""

from __future__ import annotations

import ast
import inspect
import re

import yaml.reader

from stackup.loader.pyyaml import NON_PRINTABLE, SAME_CHARACTERS


def test_the_pattern_is_the_one_pyyaml_compiles() -> None:
    tree = ast.parse(inspect.getsource(yaml.reader))
    [literal] = [node.value.args[0].value for node in ast.walk(tree)
                 if isinstance(node, ast.Assign)
                 and any(isinstance(t, ast.Name) and t.id == "NON_PRINTABLE" for t in node.targets)
                 and isinstance(node.value, ast.Call)]
    assert literal == NON_PRINTABLE


def test_the_seeded_pattern_matches_exactly_the_same_characters() -> None:
    everything = "".join(map(chr, range(0x110000)))
    original = re.compile(NON_PRINTABLE, re.UNICODE)  # other flags: compiled anew, not cached
    assert original.pattern == NON_PRINTABLE and original is not re.compile(NON_PRINTABLE)
    found = original.findall(everything)
    assert found == re.compile(SAME_CHARACTERS).findall(everything)
    assert 2000 < len(found) < 2200  # controls, C1 controls, surrogates, U+FFFE and U+FFFF
    # and PyYAML's reader, however it was imported, refuses the same characters
    assert yaml.reader.Reader.NON_PRINTABLE.findall(everything) == found
