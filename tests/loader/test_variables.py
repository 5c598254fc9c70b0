"""config --variables: which variables the files use, with defaults, required and alternates."""

from stackup.loader.variables import Variable, scan, variables_in


def test_forms() -> None:
    found: dict[str, Variable] = {}
    scan("$A ${B} ${C:-dc} ${D-dd} ${E:?msg} ${F?m} ${G:+alt} ${H+alt2} $$I ${J:-${K:-kk}}",
         found)
    assert found == {
        "A": Variable("A"), "B": Variable("B"), "C": Variable("C", default="dc"),
        "D": Variable("D", default="dd"), "E": Variable("E", required=True),
        "F": Variable("F", required=True), "G": Variable("G", alternate="alt"),
        "H": Variable("H", alternate="alt2"), "J": Variable("J", default="${K:-kk}"),
        "K": Variable("K", default="kk")}


def test_tree_walk_sorted_and_merged() -> None:
    tree = {"services": {"web": {"image": "x:${TAG:-1}", "environment": ["A=${TAG:?need}"],
                                 "command": ["echo", "$$NOT"]}}}
    assert variables_in(tree) == {"TAG": Variable("TAG", required=True, default="1")}


def test_unterminated_and_dollar_at_end() -> None:
    found: dict[str, Variable] = {}
    scan("price $ and ${OPEN", found)
    assert found == {}
