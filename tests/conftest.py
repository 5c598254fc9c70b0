"""Shared fixtures: a real Docker engine for integration tests, and per-test project names.

- ``docker_engine`` (session): a ``DockerEngine`` that answers and has ``busybox:local``; runs
  ``scripts/engine.sh`` when either is missing. Without an engine the test is skipped, or fails
  when ``CI=true``. Tests that use it (directly, through another fixture, or with
  ``pytest.mark.usefixtures("docker_engine")``) are marked ``engine``.
- Every other test runs with ``DOCKER_HOST`` pointing at a socket that does not exist, so
  ``pytest -m "not engine"`` needs no engine: a test that reaches the engine (itself or through a
  ``stackup`` it runs) without the marker fails instead of quietly using the machine's engine.
- ``project_name``: a unique ``stk-<hex>`` name; afterwards every container, network and volume
  labelled with it is removed (forced), so tests never leak resources.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackup.core import labels
from stackup.adapters.docker import DockerEngine
from stackup.core.errors import EngineError

ROOT = Path(__file__).resolve().parent.parent
ENGINE_SCRIPT = ROOT / "scripts" / "engine.sh"
TEST_IMAGE = "busybox:local"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "docker_engine" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.engine)


NO_ENGINE = "unix:///nonexistent/not-marked-engine/docker.sock"


@pytest.fixture(autouse=True)
def _engine_only_when_marked(request: pytest.FixtureRequest,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests without the ``engine`` marker get no engine (see the module docstring)."""
    if request.node.get_closest_marker("engine") is None:
        monkeypatch.setenv("DOCKER_HOST", NO_ENGINE)
        monkeypatch.delenv("DOCKER_CONTEXT", raising=False)


def _ready(engine: DockerEngine) -> tuple[bool, bool]:
    """(engine answers, test image present)."""
    try:
        engine.ping()
    except EngineError:
        return False, False
    try:
        return True, engine.image_id(TEST_IMAGE) is not None
    except EngineError:
        return True, False


@pytest.fixture(scope="session")
def docker_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerEngine]:
    state_dir = str(tmp_path_factory.mktemp("stackup-state"))
    engine = DockerEngine.from_env(state_dir=state_dir)
    answers, has_image = _ready(engine)
    output = ""
    if not (answers and has_image):
        try:
            done = subprocess.run(["bash", str(ENGINE_SCRIPT)], capture_output=True, text=True,
                                  timeout=600)
            output = (done.stdout + done.stderr)[-3000:]
        except (OSError, subprocess.TimeoutExpired) as exc:
            output = str(exc)
        answers, has_image = _ready(engine)
    if not (answers and has_image):
        what = "no Docker engine answers" if not answers else f"{TEST_IMAGE} could not be built"
        message = f"{what} (scripts/engine.sh output:)\n{output}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    yield engine
    engine.close()


def remove_project_resources(engine: DockerEngine, project_name: str) -> None:
    """Force-remove every container (with its anonymous volumes), network and volume that
    carries the project's label. Test cleanup only: no graceful stop, errors ignored."""
    api = engine.api
    label = {"label": labels.project_filter(project_name)}
    anonymous: set[str] = set()
    for container in api.containers(all=True, filters=label):
        anonymous.update(m["Name"] for m in container.get("Mounts") or []
                         if m.get("Type") == "volume" and len(m.get("Name") or "") == 64)
        try:
            api.remove_container(container["Id"], force=True, v=True)
        except Exception:  # noqa: BLE001 - best effort, keep cleaning
            pass
    for volume_name in sorted(anonymous):  # carried-over anonymous volumes survive ``v``
        try:
            api.remove_volume(volume_name)
        except Exception:  # noqa: BLE001
            pass
    for network in api.networks(filters=label):
        try:
            api.remove_network(network["Id"])
        except Exception:  # noqa: BLE001
            pass
    records = {"label": f"io.stackup.revision.project={project_name}"}  # `up` leaves them
    pulls = [v for v in (api.volumes(filters={"label": labels.PULLED_REF}) or {}).get(
        "Volumes") or [] if project_name in (v.get("Labels") or {}).get(labels.PULLED_REF, "")]
    for volume in [*((api.volumes(filters=label) or {}).get("Volumes") or []),
                   *((api.volumes(filters=records) or {}).get("Volumes") or []), *pulls]:
        try:
            api.remove_volume(volume["Name"], force=True)
        except Exception:  # noqa: BLE001
            pass


@pytest.fixture()
def project_name() -> Iterator[str]:
    name = f"stk-{uuid.uuid4().hex[:10]}"
    yield name
    engine = DockerEngine.from_env()  # own client: works even when docker_engine was skipped
    try:
        engine.ping()
    except EngineError:
        return
    try:
        remove_project_resources(engine, name)
    finally:
        engine.close()
