"""PyYAML, imported without compiling the regular expression that makes its import slow.

Pipeline position: the loader's one import of ``yaml`` (``loader.yamlsrc``). PyYAML's pure-Python
reader compiles, in its class body, a character class spanning all of Unicode
(``Reader.NON_PRINTABLE``); compiling it takes about 4.5 ms, a twentieth of a whole ``stackup
plan`` on 50 services, and stackup reads with libyaml's reader, which never uses it. The same
set of characters written as its complement compiles in a few microseconds, so it is put in
``re``'s cache under PyYAML's pattern first: ``Reader.NON_PRINTABLE`` then matches exactly the
same characters (``tests/loader/test_pyyaml.py`` checks every code point). Where ``re`` keeps its
cache differently, nothing is seeded and the import only costs what it used to.
"""

from __future__ import annotations

import re

# PyYAML's pattern (yaml/reader.py), character for character, and the same set as a complement
NON_PRINTABLE = "[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010ffff]"
SAME_CHARACTERS = "[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F\uD800-\uDFFF\uFFFE\uFFFF]"


def _seed() -> None:
    cache = getattr(re, "_cache", None)
    if isinstance(cache, dict):
        cache.setdefault((str, NON_PRINTABLE, 0), re.compile(SAME_CHARACTERS))


_seed()

import yaml  # noqa: E402 - after the seeding, which is the point of this module

__all__ = ["yaml"]
