"""Fixtures for the end-to-end tests (the engine itself comes from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import docker
import pytest

from stackup.app import revisions as R


@pytest.fixture()
def client(docker_engine: object) -> docker.DockerClient:
    """A plain SDK client, to check what the engine really has."""
    return docker.from_env()


@pytest.fixture()
def history(docker_engine: Any, project_name: str) -> Iterator[None]:
    """Remove the project's revision records afterwards (plain `down` keeps them, on purpose)."""
    yield
    numbers = [int(x[R.NUMBER]) for x in docker_engine.list_revisions(project_name)]
    docker_engine.remove_revisions(project_name, numbers)
