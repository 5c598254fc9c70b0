"""The YAML reader: locations, YAML 1.2 core scalars, anchors/merge keys, tags, alias bombs."""

import time

import pytest

from stackup.core.errors import Location, SpecError, YamlSyntaxError
from stackup.loader.located import LDict, LList, loc_of
from stackup.loader.yamlsrc import Override, Reset, read_yaml


def test_locations_and_paths() -> None:
    tree = read_yaml("services:\n  web:\n    image: nginx\n    ports:\n      - '80'\n      - 2222:22\n",
                     "c.yaml")
    web = tree["services"]["web"]
    assert isinstance(web, LDict) and isinstance(web["ports"], LList)
    assert loc_of(web, "image") == Location("c.yaml", 3, 12, "services.web.image")
    assert loc_of(web["ports"], 1) == Location("c.yaml", 6, 9, "services.web.ports[1]")
    assert web.loc is not None and web.loc.line == 3


@pytest.mark.parametrize("text, value", [
    ("true", True), ("True", True), ("TRUE", True), ("false", False),
    ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("y", "y"), ("n", "n"),
    ("2222:22", "2222:22"), ("0o17", 15), ("0x1F", 31), ("012", 10), ("0440", 288), ("09", 9), ("-5", -5),
    ("1.5", 1.5), ("1e3", 1000.0), ("null", None), ("~", None), ("", None),
    ("'true'", "true"), ('"12"', "12"), ("1_000", "1_000"), ("0x", "0x"),
])
def test_core_schema_scalars(text: str, value: object) -> None:
    assert read_yaml(f"k: {text}\n", "f.yaml")["k"] == value
    assert type(read_yaml(f"k: {text}\n", "f.yaml")["k"]) is type(value)


def test_empty_file_is_empty_mapping() -> None:
    assert read_yaml("", "f.yaml") == {}
    assert read_yaml("# only a comment\n", "f.yaml") == {}


def test_top_level_must_be_mapping() -> None:
    with pytest.raises(SpecError) as err:
        read_yaml("- a\n- b\n", "f.yaml")
    assert "mapping" in err.value.summary and err.value.location.file == "f.yaml"


def test_tab_indentation_is_located_syntax_error() -> None:
    with pytest.raises(YamlSyntaxError) as err:
        read_yaml("services:\n\tweb: {}\n", "c.yaml")
    assert err.value.location.file == "c.yaml" and err.value.location.line == 2
    assert "Tabs" in err.value.detail


def test_bad_indentation_is_syntax_error() -> None:
    with pytest.raises(YamlSyntaxError) as err:
        read_yaml("a:\n  b: 1\n c: 2\n", "c.yaml")
    assert err.value.location.line == 3


def test_duplicate_key_is_error() -> None:
    with pytest.raises(SpecError) as err:
        read_yaml("services:\n  web: {}\n  web: {}\n", "c.yaml")
    assert "duplicate key 'web'" in err.value.summary
    assert err.value.location == Location("c.yaml", 3, 3, "services.web")


def test_anchors_aliases_and_merge_keys() -> None:
    tree = read_yaml(
        "x-a: &a {image: a, restart: always}\n"
        "x-b: &b {image: b, user: me}\n"
        "services:\n"
        "  one: {<<: *a, restart: 'no'}\n"
        "  two:\n    <<: [*b, *a]\n  three: *a\n", "c.yaml")
    services = tree["services"]
    assert services["one"] == {"image": "a", "restart": "no"}
    assert services["two"] == {"image": "b", "user": "me", "restart": "always"}
    services["three"]["image"] = "changed"  # alias uses are independent copies
    assert tree["x-a"]["image"] == "a"
    assert services["one"].key_locs["image"].line == 1


def test_quoted_merge_key_is_plain_key() -> None:
    assert read_yaml("'<<': 1\n", "f")["<<"] == 1


def test_reset_and_override_tags() -> None:
    tree = read_yaml("a: !reset []\nb: !override {x: 1}\nc: !reset null\nd: !override 'v'\n", "f")
    assert tree["a"] == Reset(LList()) and tree["c"] == Reset(None)
    assert isinstance(tree["b"], Override) and tree["b"].value == {"x": 1}
    assert tree["d"] == Override("v")


def test_unknown_tag_is_error() -> None:
    with pytest.raises(SpecError) as err:
        read_yaml("a: !custom 1\n", "f.yaml")
    assert "!custom" in err.value.summary and err.value.location.line == 1


def test_explicit_core_tags() -> None:
    tree = read_yaml("a: !!str 12\nb: !!int '7'\nc: !!float 2\n", "f")
    assert tree == {"a": "12", "b": 7, "c": 2.0}


def test_billion_laughs_refused_fast() -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join([f"*a{i-1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    start = time.perf_counter()
    with pytest.raises(SpecError) as err:
        read_yaml("\n".join(lines) + "\n", "bomb.yaml")
    # Expanded, this document has ~10^9 nodes; refusing it must not expand it.
    assert time.perf_counter() - start < 5.0
    assert "aliases expand the document by more than" in err.value.summary


def test_moderate_alias_use_is_fine() -> None:
    tree = read_yaml("a: &a [1, 2]\nb: [*a, *a, *a]\n", "f")
    assert tree["b"] == [[1, 2]] * 3


def test_five_thousand_services_keep_their_locations() -> None:
    # Speed is measured by bench/load_bench.py, not here.
    lines = ["services:"]
    for i in range(5000):
        lines += [f"  s{i}:", "    image: nginx:1.25", "    ports: ['80']",
                  "    environment:", "      A: b", "    depends_on: [db]"]
    text = "\n".join(lines) + "\n"
    tree = read_yaml(text, "big.yaml")
    assert len(tree["services"]) == 5000
    assert loc_of(tree["services"]["s4999"], "image").line == 1 + 4999 * 6 + 2
