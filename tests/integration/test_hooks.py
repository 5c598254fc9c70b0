"""post_start and pre_stop hooks on the real engine, as plan operations (`up`, `down`)."""

from __future__ import annotations

from pathlib import Path

import docker

from tests.integration.helpers import LOOP, run, write


def test_hooks_run_in_the_container_and_show_in_the_plan(tmp_path: Path, project_name: str,
                                                          client: docker.DockerClient) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    write(tmp_path, f"""
        services:
          web:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            volumes: ["{shared}:/shared"]
            post_start:
              - command: ["sh", "-c", "echo started > /shared/post"]
            pre_stop:
              - command: ["sh", "-c", "echo stopping > /shared/pre"]
    """)
    planned = run(tmp_path, project_name, "plan").stdout
    assert f"! hook    {project_name}-web-1 post_start" in planned
    run(tmp_path, project_name, "up", "-d")
    assert (shared / "post").read_text() == "started\n"
    assert not (shared / "pre").exists()
    run(tmp_path, project_name, "down")
    assert (shared / "pre").read_text() == "stopping\n"
    assert client.containers.list(all=True, filters={
        "label": f"io.stackup.project={project_name}"}) == []
