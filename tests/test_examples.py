"""Every example in examples/ loads and validates, with the services its README talks about."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackup.loader.loader import LoadOptions, load_project

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

EXPECTED = {
    "hello": {"web", "client"},
    "three-tier": {"store", "migrate", "api", "web"},
    "overrides": {"app"},
    "public-images": {"web", "api", "db", "cache"},
    "build": {"web", "mirror"},
    "swarm": {"store", "migrate", "api", "web", "worker"},
    "rolling-update": {"web", "client"},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_validates(name: str) -> None:
    folder = EXAMPLES / name
    assert (folder / "README.md").is_file()
    loaded = load_project(LoadOptions(project_directory=str(folder), cwd=str(folder)))
    assert set(loaded.project.services) == EXPECTED[name]
    assert loaded.warnings == ()


def test_every_example_is_listed() -> None:
    assert {p.name for p in EXAMPLES.iterdir() if p.is_dir()} == set(EXPECTED)


def test_overrides_dev_and_prod() -> None:
    folder = EXAMPLES / "overrides"
    dev = load_project(LoadOptions(project_directory=str(folder), cwd=str(folder))).project
    assert dev.services["app"].environment["APP_ENV"] == "development"
    assert [p.published for p in dev.services["app"].ports] == ["9000"]
    prod = load_project(LoadOptions(files=("compose.yaml", "compose.prod.yaml"),
                                    cwd=str(folder))).project
    app = prod.services["app"]
    assert app.environment["APP_ENV"] == "production" and app.replicas == 3
    assert app.ports == ()  # ports: !reset []
    assert app.deploy is not None and app.deploy.limits is not None
    assert app.deploy.limits.memory == 64 * 1024 * 1024


def test_rolling_update_example_plans_batches_start_first() -> None:
    from stackup.model import UpdateConfig

    folder = EXAMPLES / "rolling-update"
    project = load_project(LoadOptions(project_directory=str(folder), cwd=str(folder))).project
    web = project.services["web"]
    assert web.replicas == 3
    assert web.deploy is not None and web.deploy.update_config == UpdateConfig(
        parallelism=1, delay=1.0, failure_action="rollback", monitor=2.0, order="start-first")
