"""Image command flags through the CLI on the real engine: build --build-arg/--with-dependencies/
--push/-q, push --ignore-push-failures/--include-deps, pull --policy missing/--include-deps, and
down --rmi local (a local registry stands in for a real one, tests/registry_server.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import docker
import pytest

from tests.integration.helpers import LOOP, free_port, run, write
from tests.integration.test_images import images  # noqa: F401 - the fixture
from tests.registry_server import RegistryServer

pytestmark = pytest.mark.engine

DOCKERFILE = textwrap.dedent("""\
    FROM busybox:local
    ARG MSG=default
    RUN echo "$MSG" > /msg
""")


def test_build_args_dependencies_push_and_rmi(tmp_path: Path, project_name: str,
                                              client: docker.DockerClient,
                                              images: set[str]) -> None:  # noqa: F811
    for name in ("app", "base"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "Dockerfile").write_text(DOCKERFILE)
    with RegistryServer() as registry:
        ref = f"127.0.0.1:{registry.port}/{project_name}/app:1"
        write(tmp_path, f"""
            services:
              app:
                build: ./app
                image: {ref}
                command: ["sh", "-c", "{LOOP}"]
                depends_on: [base]
              base:
                build: ./base
                command: ["sh", "-c", "{LOOP}"]
        """)
        built = run(tmp_path, project_name, "build", "-q", "--with-dependencies", "--push",
                    "--build-arg", "MSG=hello", "app")
        assert built.stderr == ""  # -q: no progress
        for image in (ref, f"{project_name}-base"):
            out = client.containers.run(image, ["cat", "/msg"], remove=True)
            assert out == b"hello\n"
        assert (f"{project_name}/app", "1") in registry.store.manifests

    # the registry is gone now: a failed push is an error, or a warning when ignored
    failed = run(tmp_path, project_name, "push", check=False)
    assert failed.returncode == 1 and f"service app: push {ref}" in failed.stderr
    ignored = run(tmp_path, project_name, "push", "--ignore-push-failures", check=False)
    assert ignored.returncode == 0
    assert "warning: service app:" in ignored.stderr and ref in ignored.stderr

    # down --rmi local removes the image stackup named (base), not the one with image: (app)
    run(tmp_path, project_name, "up", "-d")
    run(tmp_path, project_name, "down", "--rmi", "local")
    assert not client.images.list(name=f"{project_name}-base")
    assert client.images.list(name=ref.rsplit(":", 1)[0])


def test_pull_policy_missing_and_include_deps(tmp_path: Path, project_name: str,
                                              client: docker.DockerClient,
                                              images: set[str]) -> None:  # noqa: F811
    here = f"127.0.0.1:{free_port()}/{project_name}/here:1"
    gone = f"127.0.0.1:{free_port()}/{project_name}/gone:1"
    # an image of its own (never a second tag on busybox:local: the cleanup removes by id)
    (tmp_path / "here").mkdir()
    (tmp_path / "here" / "Dockerfile").write_text(
        f"FROM busybox:local\nLABEL test={project_name}\n")
    client.images.build(path=str(tmp_path / "here"), tag=here, rm=True)
    assert client.images.get(here).id != client.images.get("busybox:local").id
    write(tmp_path, f"""
        services:
          front:
            image: {here}
            depends_on: [back]
          back:
            image: {gone}
    """)
    present = run(tmp_path, project_name, "pull", "--policy", "missing", "front")
    assert "No images to pull." in present.stderr  # the engine has it: no registry asked
    always = run(tmp_path, project_name, "pull", "front", check=False)
    assert always.returncode == 1 and f"service front: pull {here}" in always.stderr
    deps = run(tmp_path, project_name, "pull", "--policy", "missing", "--include-deps", "front",
               check=False)
    assert deps.returncode == 1 and f"service back: pull {gone}" in deps.stderr
    assert "service front" not in deps.stderr
