"""Fixtures for the end-to-end tests (the engine itself comes from tests/conftest.py)."""

from __future__ import annotations

import docker
import pytest


@pytest.fixture()
def client(docker_engine: object) -> docker.DockerClient:
    """A plain SDK client, to check what the engine really has."""
    return docker.from_env()
