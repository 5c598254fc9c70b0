"""The public API is what __all__ says, sorted, and every name in it exists."""

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
