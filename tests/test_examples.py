"""Every example in examples/ loads and validates, with the services its README talks about."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackup.loader.loader import LoadOptions, load_project
from stackup.core.model import Project

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

EXPECTED = {
    "hello": {"web", "client"},
    "three-tier": {"store", "migrate", "api", "web"},
    "overrides": {"app"},
    "public-images": {"web", "api", "db", "cache"},
    "build": {"web", "mirror"},
    "swarm": {"store", "migrate", "api", "web", "worker"},
    "rolling-update": {"web", "client"},
    "gitops-agent": {"agent"},
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
    """A new VERSION on the example's running replicas: the plan replaces them one batch at a
    time, each new replica started and healthy beside the old one before the old one stops."""
    import anyio

    from stackup.app.containers import observe
    from stackup.app.container_backend import ContainerBackend
    from stackup.testing.fake import FakeEngine
    from stackup.run.execute import execute
    from stackup.core.model import UpdateConfig
    from stackup.reconcile import plan_up
    from stackup.core.render import plan_text

    folder = EXAMPLES / "rolling-update"

    def load(version: str) -> Project:
        return load_project(LoadOptions(project_directory=str(folder), cwd=str(folder),
                                        environ={"VERSION": version})).project

    project = load("v1")
    web = project.services["web"]
    assert web.replicas == 3
    assert web.deploy is not None and web.deploy.update_config == UpdateConfig(
        parallelism=1, delay=1.0, failure_action="rollback", monitor=2.0, order="start-first")
    engine = FakeEngine()
    first = plan_up(project, observe(project, engine))
    outcome = anyio.run(lambda: execute(first, ContainerBackend(engine), poll_interval=0.001))
    assert outcome.ok, outcome
    assert sorted(c.name for c in engine.containers.values() if c.state == "running") == [
        "rolling-client-1", "rolling-web-1", "rolling-web-2", "rolling-web-3"]

    update = load("v2")
    plan = plan_up(update, observe(update, engine))
    lines = plan_text(plan).splitlines()

    def at(*words: str) -> int:
        [index] = [i for i, line in enumerate(lines) if all(w in line for w in words)]
        return index

    for n in (1, 2, 3):
        started = at(f"> start  rolling-web-{n}-next ", f"(batch {n}/3, start-first)")
        healthy = at(f"wait   rolling-web-{n}-next healthy")
        stopped = at(f"- stop   rolling-web-{n} ", "replaced")
        assert at(f"+ create rolling-web-{n}-next ") < started < healthy < stopped, lines
        if n > 1:
            assert at(f"check  web rollout", f"batch {n - 1}/3") < started, lines
    assert sum("update_config.delay between batches" in line for line in lines) == 2
    assert not any("rolling-client" in line for line in lines), lines  # client untouched
    assert lines[-1] == "Plan: 3 to replace."
