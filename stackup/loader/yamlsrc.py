"""Read one stack file's YAML text into a located tree (``LDict`` / ``LList`` / scalars).

Pipeline position: the first step of the loader. **yamlsrc** → interpolate → extends → merge →
parse. libyaml (when available) composes the node graph; this module builds the tree itself so
that every value knows its file, line, column and key path, and so that scalars follow the
YAML 1.2 core schema the way Compose reads them: only ``true``/``false`` are booleans,
``yes``/``on``/``2222:22`` stay strings, ``0o17``, ``0x1F`` and ``0440`` (octal, as Compose
reads it) are ints.

``!reset`` and ``!override`` become :class:`Reset` / :class:`Override` wrappers for
``loader.merge``. Before anything is constructed, the node graph is checked against
``loader.limits``: value length, nesting depth and alias expansion ("billion laughs").
"""

from __future__ import annotations

import gc
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from stackup.core.errors import Location, SpecError, YamlSyntaxError
from stackup.loader import limits
from stackup.loader.located import LDict, LList

MAX_EXPANDED_NODES = limits.MAX_ALIAS_NODES  # kept for callers: nodes aliases may add

if TYPE_CHECKING:  # libyaml's loader has the same interface as the pure-Python one
    _Base = yaml.SafeLoader
else:
    _Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PLAIN = "?plain"
_STR = "tag:yaml.org,2002:str"
_CORE = "tag:yaml.org,2002:"
_SEQ = _CORE + "seq"
_MAP = _CORE + "map"


@dataclass(frozen=True, slots=True)
class Reset:
    """``!reset value``: remove (or empty) the value inherited from earlier files."""

    value: Any = None


@dataclass(frozen=True, slots=True)
class Override:
    """``!override value``: replace the value from earlier files instead of merging with it."""

    value: Any = None


class _Composer(_Base):
    """libyaml's composer with our own scalar resolution: implicit plain scalars get ``?plain``."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is ScalarNode:
            return _PLAIN if implicit[0] else _STR
        return _SEQ if kind is SequenceNode else _MAP


_INT = re.compile(r"[-+]?[0-9]+\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_SPECIAL: dict[str, Any] = {
    "": None, "~": None, "null": None, "Null": None, "NULL": None,
    "true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False,
    ".inf": float("inf"), ".Inf": float("inf"), ".INF": float("inf"),
    "+.inf": float("inf"), "+.Inf": float("inf"), "+.INF": float("inf"),
    "-.inf": float("-inf"), "-.Inf": float("-inf"), "-.INF": float("-inf"),
    ".nan": float("nan"), ".NaN": float("nan"), ".NAN": float("nan"),
}
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_MAYBE_NOT_STR = frozenset("0123456789+-.~nNtTfF")


def plain_scalar(text: str) -> Any:
    """The value of an unquoted scalar under the YAML 1.2 core schema."""
    if text and text[0] not in _MAYBE_NOT_STR:
        return text
    if text in _SPECIAL:
        return _SPECIAL[text]
    if _INT.match(text):
        digits = text.lstrip("+-")
        if len(digits) > 1 and digits[0] == "0" and all(c in "01234567" for c in digits):
            # Compose's reader takes a leading zero as octal (file modes like 0440).
            return int(text, 8)
        return int(text, 10)
    if text.startswith("0o") and len(text) > 2 and all(c in "01234567" for c in text[2:]):
        return int(text[2:], 8)
    if _HEX.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    return text


def _loc(file: str, node: Node, path: str) -> Location:
    mark = node.start_mark
    return Location(file, mark.line + 1, mark.column + 1, path)


def _syntax_error(file: str, text: str, err: yaml.MarkedYAMLError) -> YamlSyntaxError:
    mark = err.problem_mark or err.context_mark
    line = mark.line + 1 if mark else 0
    col = mark.column + 1 if mark else 0
    problem = err.problem or "invalid YAML"
    context = err.context or ""
    if context and err.context_mark is not None and err.context_mark is not mark:
        context += f" (started at line {err.context_mark.line + 1})"
    lines = text.splitlines()
    if mark is not None and mark.line < len(lines):
        source, column = lines[mark.line], mark.column
        if len(source) > 160:  # show a window of a long line around the column
            start = max(0, column - 80)
            source, column = source[start:start + 160], column - start
        context += f"\n    {source}\n    {' ' * column}^"
        if "\t" in source:
            context = "Tabs are not allowed for indentation in YAML; use spaces.\n" + context
    detail = context.lstrip("\n")
    return YamlSyntaxError(f"invalid YAML in {file}: {problem}", detail=detail,
                           location=Location(file, line, col))


def _position(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a reader offset (libyaml counts UTF-8 bytes)."""
    if _Base is not yaml.SafeLoader:
        offset = len(text.encode("utf-8", "surrogatepass")[:offset].decode("utf-8", "ignore"))
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def _flat(node: Node) -> list[Node]:
    """The child nodes of a sequence, or the keys and values of a mapping."""
    if isinstance(node, SequenceNode):
        children: list[Node] = node.value
        return children
    return [child for pair in node.value for child in pair]


def _check_tree(root: Node, file: str, max_added: int) -> None:
    """Refuse, before anything is built, documents that would exhaust time, memory or the
    recursion limit: a scalar longer than ``MAX_VALUE_CHARS``, nesting deeper than
    ``MAX_DEPTH`` (aliases expanded), aliases adding more than ``max_added`` nodes, an alias
    that contains itself. Iterative, memoized per collection: a "billion laughs" costs its
    size, a plain document one look at each node."""
    max_chars = limits.MAX_VALUE_CHARS
    if isinstance(root, ScalarNode):
        if len(root.value) > max_chars:
            raise limits.value_too_long(len(root.value), _loc(file, root, ""))
        return
    done: dict[int, tuple[int, int]] = {}  # id(collection) → (expanded size, depth)
    active: set[int] = set()
    distinct = 0  # nodes as written (a scalar reached twice through an alias counts twice)
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            active.discard(key)
            size, depth = 1, 0
            for child in _flat(node):
                if child.__class__ is ScalarNode:
                    size += 1
                else:
                    below = done[id(child)]
                    size += below[0]
                    depth = below[1] if below[1] > depth else depth
            depth += 1
            if depth > limits.MAX_DEPTH:
                raise SpecError(f"values nest more than {limits.MAX_DEPTH} levels deep",
                                detail="stackup refuses documents nested this deeply.",
                                location=_loc(file, node, ""))
            if size - distinct > max_added:
                raise SpecError(f"aliases expand the document by more than {max_added} values",
                                detail="Reduce the nesting of YAML aliases (a 'billion laughs' "
                                       "document?).", location=_loc(file, node, ""))
            done[key] = (size, depth)
            continue
        if key in done:
            continue
        if key in active:
            raise SpecError("recursive YAML alias: a value contains itself",
                            location=_loc(file, node, ""))
        distinct += 1
        active.add(key)
        stack.append((node, True))
        for child in _flat(node):
            if child.__class__ is ScalarNode:
                distinct += 1
                if len(child.value) > max_chars:
                    raise limits.value_too_long(len(child.value), _loc(file, child, ""))
            elif id(child) not in done:
                stack.append((child, False))


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file

    def build(self, node: Node, path: str) -> Any:
        tag = node.tag
        if isinstance(node, ScalarNode):
            if tag == _PLAIN:
                return plain_scalar(node.value)
            if tag == _STR:
                return node.value
        elif tag.startswith(_CORE):
            if isinstance(node, MappingNode):
                return self.mapping(node, path)
            return self.sequence(node, path)
        return self.tagged(node, path)

    def tagged(self, node: Node, path: str) -> Any:
        tag = node.tag
        if tag in ("!reset", "!override"):
            if isinstance(node, ScalarNode):
                inner: Any = plain_scalar(node.value) if node.style in ("", None) else node.value
            elif isinstance(node, MappingNode):
                inner = self.mapping(node, path)
            else:
                inner = self.sequence(node, path)
            return Reset(inner) if tag == "!reset" else Override(inner)
        if isinstance(node, ScalarNode):
            kind = tag[len(_CORE):] if tag.startswith(_CORE) else ""
            if kind == "int":
                try:
                    return int(node.value, 0)
                except ValueError:
                    pass
            elif kind == "float":
                try:
                    return float(node.value)
                except ValueError:
                    pass
            elif kind in ("bool", "null"):
                value = plain_scalar(node.value)
                if (kind == "bool" and isinstance(value, bool)) or (kind == "null" and value is None):
                    return value
            elif kind == "str" or tag == "!":
                return node.value
            elif tag.startswith("!") and not kind:
                raise SpecError(f"unknown YAML tag {tag!r}", detail="Only !reset and !override "
                                "are understood.", location=_loc(self.file, node, path))
            raise SpecError(f"cannot read {node.value!r} as {tag}",
                            location=_loc(self.file, node, path))
        raise SpecError(f"unknown YAML tag {tag!r}", detail="Only !reset and !override are "
                        "understood.", location=_loc(self.file, node, path))

    def sequence(self, node: Node, path: str) -> LList:
        file = self.file
        out = LList(loc=Location(file, node.start_mark.line + 1, node.start_mark.column + 1, path))
        locs = out.item_locs
        build = self.build
        for i, child in enumerate(node.value):
            sub = f"{path}[{i}]"
            mark = child.start_mark
            locs.append(Location(file, mark.line + 1, mark.column + 1, sub))
            out.append(build(child, sub))
        return out

    def mapping(self, node: Node, path: str) -> LDict:
        file = self.file
        mark = node.start_mark
        out = LDict(loc=Location(file, mark.line + 1, mark.column + 1, path))
        locs = out.key_locs
        merges: list[Node] = []
        build = self.build
        prefix = f"{path}." if path else ""
        for knode, vnode in node.value:
            if not isinstance(knode, ScalarNode):
                raise SpecError("a mapping key must be a scalar",
                                location=_loc(file, knode, path))
            key = knode.value
            if key == "<<" and knode.tag == _PLAIN:
                merges.append(vnode)
                continue
            if key in out:
                raise SpecError(f"duplicate key {key!r}", detail="Each key may appear once in "
                                "a mapping.", location=_loc(file, knode, prefix + key))
            sub = prefix + key
            # a scalar is located where it is written; a block under a key at the key's line
            mark = vnode.start_mark if isinstance(vnode, ScalarNode) else knode.start_mark
            locs[key] = Location(file, mark.line + 1, mark.column + 1, sub)
            out[key] = build(vnode, sub)
        if merges:
            self._apply_merges(out, merges, path)
        return out

    def _apply_merges(self, out: LDict, merges: list[Node], path: str) -> None:
        sources: list[Node] = []
        for vnode in merges:
            items = vnode.value if isinstance(vnode, SequenceNode) else [vnode]
            for item in items:
                if not isinstance(item, MappingNode):
                    raise SpecError("a '<<' merge key needs a mapping or a list of mappings",
                                    location=_loc(self.file, item, path))
                sources.append(item)
        for src in sources:  # explicit keys win; earlier merge sources win over later ones
            merged = self.mapping(src, path)
            for key, value in merged.items():
                if key not in out:
                    out[key] = value
                    out.key_locs[key] = merged.key_locs[key]


def read_yaml(text: str, file: str, *, max_nodes: int = MAX_EXPANDED_NODES,
              empty_ok: bool = True) -> LDict:
    """Parse one YAML document into an ``LDict``. An empty document (nothing, comments only,
    ``~``) gives an empty ``LDict``, or a ``SpecError`` naming the file unless ``empty_ok``.
    ``max_nodes`` bounds the nodes aliases may add (see ``_check_tree``)."""
    limits.check_text_size(text, file)
    was_enabled = gc.isenabled()
    gc.disable()  # the node graph is acyclic garbage-wise; collection passes only cost time here
    try:
        tree, empty = _read(text, file, max_nodes)
    finally:
        if was_enabled:
            gc.enable()
    if empty and not empty_ok:
        what = "standard input" if file == "-" else file
        raise SpecError(f"{what} is empty", detail="A stack file needs at least a 'services:' "
                        "mapping.", location=Location(file, 1, 1))
    return tree


def _read(text: str, file: str, max_nodes: int) -> tuple[LDict, bool]:
    """(tree, whether the document was empty)."""
    loader = _Composer(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as err:
        raise _syntax_error(file, text, err) from None
    except yaml.reader.ReaderError as err:  # a character YAML does not allow (no mark)
        line, column = _position(text, err.position)
        char = chr(err.character) if isinstance(err.character, int) else err.character
        raise YamlSyntaxError(f"invalid YAML in {file}: character {char!r} is not "
                              f"allowed ({err.reason})",
                              detail="Remove the control character (an editor showing "
                                     "invisible characters finds it).",
                              location=Location(file, line, column)) from None
    except yaml.YAMLError as err:
        raise YamlSyntaxError(f"invalid YAML in {file}: {err}", location=Location(file)) from None
    finally:
        loader.dispose()
    if root is None:
        return LDict(loc=Location(file, 1, 1, "")), True
    _check_tree(root, file, max_nodes)
    if not isinstance(root, MappingNode):
        if isinstance(root, ScalarNode) and root.tag == _PLAIN and plain_scalar(root.value) is None:
            return LDict(loc=Location(file, 1, 1, "")), True
        raise SpecError(f"the top level of {file} must be a mapping",
                        detail="A stack file starts with keys such as 'services:'.",
                        location=_loc(file, root, ""))
    return _Builder(file).mapping(root, ""), False
