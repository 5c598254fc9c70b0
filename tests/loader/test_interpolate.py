"""Interpolation of string values: syntax, defaults, required values, warnings, locations."""

import pytest

from stackup.core.errors import InterpolationError
from stackup.loader.interpolate import interpolate, interpolate_string
from stackup.loader.located import LDict, LList
from stackup.loader.yamlsrc import Override, Reset, read_yaml

ENV = {"A": "a", "EMPTY": "", "PORT": "8080"}


@pytest.mark.parametrize("text, expected", [
    ("$A", "a"), ("${A}", "a"), ("x${A}y", "xay"), ("$A.b", "a.b"),
    ("${MISSING:-d}", "d"), ("${EMPTY:-d}", "d"), ("${EMPTY-d}", ""), ("${MISSING-d}", "d"),
    ("${A:-d}", "a"), ("${A:+alt}", "alt"), ("${EMPTY:+alt}", ""), ("${EMPTY+alt}", "alt"),
    ("${MISSING+alt}", ""), ("${A:?boom}", "a"),
    ("${MISSING:-${A:-x}}", "a"), ("${MISSING:-${OTHER:-deep}}", "deep"),
    ("$$A", "$A"), ("$${A}", "${A}"), ("cost $5", "cost $5"), ("end$", "end$"),
    ("${MISSING:-a b-c}", "a b-c"), ("no dollars", "no dollars"),
])
def test_expressions(text: str, expected: str) -> None:
    warnings: list[str] = []
    assert interpolate_string(text, ENV, None, warnings) == expected
    assert warnings == []


def test_unused_branch_has_no_effects() -> None:
    warnings: list[str] = []
    assert interpolate_string("${A:-${NOPE:?never}}${A:-$NOPE}", ENV, None, warnings) == "aa"
    assert warnings == []


def test_unset_variable_warns_with_location() -> None:
    tree = read_yaml("services:\n  web:\n    environment:\n      FOO: x${FOO}y\n", "compose.yaml")
    out, warnings = interpolate(tree, {})
    assert out["services"]["web"]["environment"]["FOO"] == "xy"
    assert warnings == ['compose.yaml:4:12 (services.web.environment.FOO): The "FOO" variable '
                        'is not set. Defaulting to a blank string.']


def test_required_variable_error_has_message_and_location() -> None:
    tree = read_yaml("services:\n  web:\n    image: ${TAG:?set TAG please}\n", "c.yaml")
    with pytest.raises(InterpolationError) as err:
        interpolate(tree, {})
    assert '"TAG"' in err.value.summary and "set TAG please" in err.value.summary
    assert err.value.location.line == 3 and err.value.location.path == "services.web.image"


def test_required_without_colon_accepts_empty() -> None:
    assert interpolate_string("${EMPTY?x}", ENV) == ""
    with pytest.raises(InterpolationError):
        interpolate_string("${EMPTY:?x}", ENV)


@pytest.mark.parametrize("text", ["${A", "${}", "${1A}", "${A!x}", "${A:-x"])
def test_malformed_is_located_error(text: str) -> None:
    tree = read_yaml(f"k: '{text}'\n", "c.yaml")
    with pytest.raises(InterpolationError) as err:
        interpolate(tree, ENV)
    assert err.value.location.file == "c.yaml" and err.value.location.path == "k"


def test_keys_not_interpolated_values_everywhere() -> None:
    tree = read_yaml("x-ext:\n  $A: $A\nlist: [$A, 1, true]\n", "c.yaml")
    out, _ = interpolate(tree, ENV)
    assert out == {"x-ext": {"$A": "a"}, "list": ["a", 1, True]}
    assert isinstance(out["list"], LList) and out["list"].item_locs[0].path == "list[0]"
    assert isinstance(out, LDict) and out.key_locs["list"] == tree.key_locs["list"]
    assert tree["list"][0] == "$A"  # input untouched


def test_inside_reset_and_override() -> None:
    tree = read_yaml("a: !override [$A]\nb: !reset $A\n", "c.yaml")
    out, _ = interpolate(tree, ENV)
    assert out["a"] == Override(["a"]) and out["b"] == Reset("a")
