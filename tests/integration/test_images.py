"""Images on the real engine: build from a local context, rebuild, pull policies, build failures,
``images``, and push/pull through a local registry (tests/registry_server.py).

No registry is reachable from the test machines: every Dockerfile starts FROM busybox:local, and
push/pull go to an in-memory registry on 127.0.0.1 (dockerd allows plain http on loopback).
Every image a test makes is named with the project name; the ``images`` fixture removes them
(and the ids a test hands it) afterwards.
"""


from __future__ import annotations

import os
import re

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from stackup.adapters.docker import DockerEngine
from tests.conftest import remove_project_resources
from tests.integration.helpers import LOOP, free_port, ids, run, write
from tests.registry_server import RegistryServer

pytestmark = pytest.mark.engine


@pytest.fixture()
def images(client: docker.DockerClient, project_name: str) -> Iterator[set[str]]:
    """Image ids to remove after the test, plus every image tagged with the project name."""
    extra: set[str] = set()
    yield extra
    engine = DockerEngine.from_env()  # containers first: an image in use cannot be removed
    try:
        remove_project_resources(engine, project_name)
    finally:
        engine.close()
    for image in client.images.list():
        if any(project_name in tag for tag in image.tags):
            extra.add(image.id)
            for tag in image.tags:
                try:
                    client.images.remove(tag, force=True)
                except docker.errors.APIError:
                    pass
    for image_id in sorted(extra):
        try:
            client.images.remove(image_id, force=True)
        except docker.errors.APIError:
            pass

# These tests read the legacy builder's output (BuildKit is tested in test_buildkit.py).
os.environ["STACKUP_BUILDER"] = "legacy"


def context(folder: Path, message: str = "v1") -> Path:
    app = folder / "app"
    app.mkdir(exist_ok=True)
    (app / "msg.txt").write_text(message + "\n")
    (app / "Dockerfile").write_text(textwrap.dedent("""\
        FROM busybox:local
        COPY msg.txt /msg.txt
        RUN cat /msg.txt
    """))
    return app


def test_build_up_and_rebuild_recreates_only_services_on_that_image(
        tmp_path: Path, project_name: str, client: docker.DockerClient,
        images: set[str]) -> None:
    context(tmp_path)
    write(tmp_path, f"""
        services:
          app:
            build: ./app
            command: ["sh", "-c", "{LOOP}"]
          twin:
            image: {project_name}-app
            command: ["sh", "-c", "{LOOP}"]
            depends_on: [app]
          plain:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
    """)
    planned = run(tmp_path, project_name, "plan").stdout
    assert re.search(rf"\+ build +{project_name}-app +image not found locally", planned)
    first = run(tmp_path, project_name, "up", "-d")
    assert "Step 2/3 : COPY msg.txt /msg.txt" in first.stderr  # build output streamed
    assert run(tmp_path, project_name, "exec", "-T", "twin", "cat", "/msg.txt").stdout == "v1\n"
    before = ids(client, project_name)
    images.add(client.images.get(f"{project_name}-app").id)
    assert run(tmp_path, project_name, "plan", "--exit-code", check=False).returncode == 0

    context(tmp_path, "v2")
    assert "--build" in run(tmp_path, project_name, "plan", "--build").stdout
    run(tmp_path, project_name, "up", "-d", "--build")
    after = ids(client, project_name)
    plain, app, twin = (f"{project_name}-{s}-1" for s in ("plain", "app", "twin"))
    assert after[plain] == before[plain]
    assert after[app] != before[app] and after[twin] != before[twin]
    assert run(tmp_path, project_name, "exec", "-T", "app", "cat", "/msg.txt").stdout == "v2\n"
    # unchanged context: the rebuild hits the cache, the image id stays, nothing is recreated
    again = run(tmp_path, project_name, "up", "-d", "--build")
    assert ids(client, project_name) == after
    assert "recreate" not in again.stderr


def test_build_no_cache_and_images_lists_ids(tmp_path: Path, project_name: str,
                                             client: docker.DockerClient,
                                             images: set[str]) -> None:
    context(tmp_path)
    write(tmp_path, f"""
        services:
          app:
            build: {{context: ./app, labels: {{purpose: test}}}}
            image: {project_name}/app:1
            command: ["sh", "-c", "{LOOP}"]
          plain:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
    """)
    run(tmp_path, project_name, "build")
    images.add(client.images.get(f"{project_name}/app:1").id)  # replaced by --no-cache
    cached = run(tmp_path, project_name, "build")
    assert "Using cache" in cached.stderr
    fresh = run(tmp_path, project_name, "build", "--no-cache")
    assert "COPY msg.txt" in fresh.stderr and "Using cache" not in fresh.stderr
    built = client.images.get(f"{project_name}/app:1")
    assert built.labels.get("purpose") == "test"

    run(tmp_path, project_name, "up", "-d")
    rows = json.loads(run(tmp_path, project_name, "images", "--format", "json").stdout)
    expected = {c.name: c.attrs["Image"] for c in client.containers.list(
        all=True, filters={"label": f"io.stackup.project={project_name}"})}
    assert {r["container"]: r["image_id"] for r in rows} == expected
    assert {r["service"]: r["image"] for r in rows} == {"app": f"{project_name}/app:1",
                                                        "plain": "busybox:local"}
    table = run(tmp_path, project_name, "images").stdout.splitlines()
    assert table[0].split() == ["CONTAINER", "SERVICE", "IMAGE", "IMAGE", "ID", "SIZE"]
    app_row = next(line for line in table if line.startswith(f"{project_name}-app-1"))
    assert built.id.split(":")[1][:12] in app_row.split()


def test_failing_build_names_service_and_step(tmp_path: Path, project_name: str,
                                              client: docker.DockerClient,
                                              images: set[str]) -> None:
    write(tmp_path, f"""
        services:
          app:
            build:
              context: .
              dockerfile_inline: |
                FROM busybox:local
                RUN echo about to fail && false
          web:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            depends_on: [app]
          other:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
    """)
    result = run(tmp_path, project_name, "up", "-d", check=False)
    assert result.returncode == 1
    assert "service app" in result.stderr
    assert "Step 2/2 : RUN echo about to fail && false" in result.stderr
    assert "returned a non-zero code: 1" in result.stderr
    assert "Traceback" not in result.stderr
    # app has no image, so no container; its dependent web is created but never started
    assert sorted(ids(client, project_name)) == [f"{project_name}-other-1",
                                                 f"{project_name}-web-1"]
    assert client.containers.get(f"{project_name}-web-1").status == "created"
    built = run(tmp_path, project_name, "build", check=False)
    assert built.returncode == 1 and "service app" in built.stderr


def test_pull_policy_never_with_a_missing_image_fails_before_anything(
        tmp_path: Path, project_name: str, client: docker.DockerClient) -> None:
    write(tmp_path, f"""
        services:
          web:
            image: {project_name}-missing:1
            pull_policy: never
    """)
    result = run(tmp_path, project_name, "up", "-d", check=False)
    assert result.returncode == 1
    assert (f"image {project_name}-missing:1 not found locally and pull_policy is never "
            f"(service web)") in result.stderr
    assert ids(client, project_name) == {}
    assert client.networks.list(filters={"label": f"io.stackup.project={project_name}"}) == []


def test_push_to_and_pull_from_a_local_registry(tmp_path: Path, project_name: str,
                                                client: docker.DockerClient,
                                                images: set[str]) -> None:
    with RegistryServer() as registry:
        ref = f"127.0.0.1:{registry.port}/{project_name}/app:1"
        context(tmp_path)
        write(tmp_path, f"""
            services:
              app:
                build: ./app
                image: {ref}
                command: ["sh", "-c", "{LOOP}"]
        """)
        run(tmp_path, project_name, "build")
        built = client.images.get(ref).id
        pushed = run(tmp_path, project_name, "push")
        assert "push" in pushed.stderr
        assert (f"{project_name}/app", "1") in registry.store.manifests
        client.images.remove(ref, force=True)
        images.add(built)

        pulled = run(tmp_path, project_name, "pull")
        assert "pull" in pulled.stderr
        assert client.images.get(ref).id == built
        quiet = run(tmp_path, project_name, "pull", "--quiet")
        assert quiet.stderr == ""
        run(tmp_path, project_name, "up", "-d", "--pull", "always")
        assert ids(client, project_name)


def test_unreachable_registry_names_image_and_service(tmp_path: Path, project_name: str,
                                                      client: docker.DockerClient) -> None:
    ref = f"127.0.0.1:{free_port()}/{project_name}/app:1"  # a port nothing listens on
    write(tmp_path, f"""
        services:
          web:
            image: {ref}
          front:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            depends_on: [web]
          other:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
    """)
    result = run(tmp_path, project_name, "pull", check=False)
    assert result.returncode == 1
    assert f"service web: pull {ref}: cannot pull image {ref}" in result.stderr
    assert "connection refused" in result.stderr
    ignored = run(tmp_path, project_name, "pull", "--ignore-pull-failures", check=False)
    assert ignored.returncode == 0
    assert f"warning: service web: cannot pull image {ref}" in ignored.stderr

    # preflight: the registry cannot resolve the image, so up fails before creating anything
    # (as Compose does), naming the image, the service's line and the registry's answer
    up = run(tmp_path, project_name, "up", "-d", check=False)
    assert up.returncode == 1
    assert f"{tmp_path / 'compose.yaml'}:4: services.web.image: image {ref} is not present " \
           f"and cannot be pulled" in up.stderr
    assert "connection refused" in up.stderr
    assert ids(client, project_name) == {}
