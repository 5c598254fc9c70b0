"""A key the engine's API version cannot honour stops `up` before anything is created."""

from __future__ import annotations

from pathlib import Path

import docker

from tests.integration.helpers import run, write


def test_a_key_needing_a_newer_engine_creates_nothing(tmp_path: Path, project_name: str,
                                                      client: docker.DockerClient) -> None:
    if client.version()["ApiVersion"] >= "1.44":
        import pytest

        pytest.skip("this engine supports healthcheck.start_interval")
    write(tmp_path, """
        services:
          a:
            image: busybox:local
          b:
            image: busybox:local
            healthcheck:
              test: ["CMD", "true"]
              start_interval: 1s
    """)
    result = run(tmp_path, project_name, "up", "-d", check=False)
    assert result.returncode == 1
    assert "services.b.healthcheck.start_interval needs Docker engine API 1.44" in result.stderr
    label = {"label": f"io.stackup.project={project_name}"}
    assert client.containers.list(all=True, filters=label) == []
    assert client.networks.list(filters=label) == []
