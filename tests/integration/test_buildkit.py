"""Builds with BuildKit on the real engine: a ``RUN --mount=type=cache`` Dockerfile with the
engine's own BuildKit (API) and with ``docker buildx``, and a build secret through buildx, all
through the ``stackup build`` command; the build output names the builder.

buildx comes from Debian trixie through ``scripts/cli_plugins.sh buildx``; without it the
buildx tests skip and quote why. The engine's BuildKit needs nothing more than the engine.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import docker
import pytest

from tests.conftest import ROOT
from tests.integration.helpers import write

pytestmark = pytest.mark.engine

STACKUP = str(Path(sys.executable).parent / "stackup")
CACHE_DOCKERFILE = """FROM busybox:local
ARG ROUND
RUN --mount=type=cache,id={cache_id},target=/cache echo "round $ROUND" >> /cache/log \\
    && cp /cache/log /built
"""


def stackup(folder: Path, project: str, builder: str, *args: str,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([STACKUP, "-p", project, "--progress", "plain", "-f",
                           str(folder / "compose.yaml"), *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "STACKUP_BUILDER": builder,
                                            **(env or {})})


def _buildx_answers() -> bool:
    try:
        return subprocess.run(["docker", "buildx", "version"], capture_output=True,
                              timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def buildx(docker_engine: object) -> str:
    if not _buildx_answers():
        done = subprocess.run(["bash", str(ROOT / "scripts" / "cli_plugins.sh"), "buildx"],
                              capture_output=True, text=True, timeout=300)
        if not _buildx_answers():
            pytest.skip("docker buildx is not available and scripts/cli_plugins.sh could not "
                        f"install it: {(done.stdout + done.stderr).strip()[-800:]}")
    return "buildx"


@pytest.fixture()
def image_tag(client: docker.DockerClient) -> object:
    tag = f"stackup-test-bk-{uuid.uuid4().hex[:10]}:1"
    yield tag
    try:
        client.images.remove(tag, force=True)
    except docker.errors.ImageNotFound:
        pass


def _file_in_image(client: docker.DockerClient, tag: str, path: str) -> str:
    """A file's text read from the image's filesystem (a created, never started container).
    Not through ``containers.run``: it reads the output back through the engine's json-file
    log, and under load engine 20.10 drops a last line without a newline, which made this
    file's last line (the environment secret) look empty now and then."""
    container = client.containers.create(tag, ["true"])
    try:
        chunks, _ = container.get_archive(path)
        data = b"".join(chunks)
    finally:
        container.remove(force=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.extractfile(os.path.basename(path))
        assert member is not None, f"{path} is not a file in {tag}"
        return member.read().decode()


def _cache_mount_round_trip(tmp_path: Path, project: str, builder: str, tag: str,
                            client: docker.DockerClient) -> str:
    """Build twice with a cache mount; the second build sees what the first left in it."""
    (tmp_path / "Dockerfile").write_text(CACHE_DOCKERFILE.format(cache_id=uuid.uuid4().hex))
    output = ""
    for round_ in ("one", "two"):
        write(tmp_path, f"""
            services:
              app:
                image: {tag}
                build:
                  context: .
                  args: [ROUND]
        """)
        done = stackup(tmp_path, project, builder, "build", env={"ROUND": round_})
        assert done.returncode == 0, done.stdout + done.stderr
        output += done.stdout + done.stderr
    built = client.containers.run(tag, ["cat", "/built"], remove=True)
    assert built == b"round one\nround two\n"  # the cache mount outlived the first build
    return output


def test_cache_mount_with_the_engines_buildkit(tmp_path: Path, project_name: str,
                                               image_tag: str,
                                               client: docker.DockerClient) -> None:
    output = _cache_mount_round_trip(tmp_path, project_name, "buildkit", image_tag, client)
    assert "with the engine's BuildKit" in output, output


def test_cache_mount_with_buildx(tmp_path: Path, project_name: str, image_tag: str,
                                 buildx: str, client: docker.DockerClient) -> None:
    output = _cache_mount_round_trip(tmp_path, project_name, "buildx", image_tag, client)
    assert "with BuildKit (docker buildx" in output, output


def test_the_legacy_builder_says_so_and_names_the_failing_step(
        tmp_path: Path, project_name: str, image_tag: str) -> None:
    (tmp_path / "Dockerfile").write_text(CACHE_DOCKERFILE.format(cache_id="x"))
    write(tmp_path, f"""
        services:
          app:
            image: {image_tag}
            build: .
    """)
    done = stackup(tmp_path, project_name, "legacy", "build")
    assert done.returncode == 1
    assert "with the legacy builder" in done.stdout + done.stderr
    assert "the --mount option requires BuildKit" in done.stderr, done.stderr


SECRET_STACK = """
    secrets:
      token:
        file: ./token.txt
      from_env:
        environment: STACKUP_TEST_TOKEN
    services:
      app:
        image: {tag}
        build:
          context: .
          secrets:
            - token
            - source: from_env
              target: envtoken
"""


def test_build_secrets_with_buildx(tmp_path: Path, project_name: str, image_tag: str,
                                   buildx: str, client: docker.DockerClient) -> None:
    marker = uuid.uuid4().hex  # in the RUN line too: no cached layer from another run
    (tmp_path / "token.txt").write_text(f"file-{marker}")
    (tmp_path / "Dockerfile").write_text(
        f"FROM busybox:local\nRUN --mount=type=secret,id=token --mount=type=secret,id=envtoken "
        f": {marker} && cat /run/secrets/token > /got && echo >> /got "
        "&& cat /run/secrets/envtoken >> /got\n")
    write(tmp_path, SECRET_STACK.format(tag=image_tag))
    secrets = {"STACKUP_TEST_TOKEN": f"env-{marker}"}
    done = stackup(tmp_path, project_name, "buildx", "build", env=secrets)
    assert done.returncode == 0, done.stdout + done.stderr
    # both secrets reached the RUN step: the file's and the environment variable's value
    assert _file_in_image(client, image_tag, "/got") == f"file-{marker}\nenv-{marker}"
    # neither value is ever shown: not in the build output, the plan, or a saved plan
    plan_file = tmp_path / "plan.json"
    shown = [done.stdout + done.stderr]
    for args in (("plan", "--build"), ("plan", "--build", "--format", "json",
                                       "--out", str(plan_file))):
        planned = stackup(tmp_path, project_name, "buildx", *args, env=secrets)
        assert planned.returncode == 0, planned.stdout + planned.stderr
        shown.append(planned.stdout + planned.stderr)
    shown.append(plan_file.read_text())
    for text in shown:
        assert f"env-{marker}" not in text and f"file-{marker}" not in text


def test_build_secrets_without_a_session_are_refused_naming_the_key(
        tmp_path: Path, project_name: str, image_tag: str) -> None:
    (tmp_path / "token.txt").write_text("x")
    (tmp_path / "Dockerfile").write_text("FROM busybox:local\n")
    write(tmp_path, SECRET_STACK.format(tag=image_tag))
    done = stackup(tmp_path, project_name, "buildkit", "build",
                   env={"STACKUP_TEST_TOKEN": "y"})
    assert done.returncode == 1
    assert "build.secrets" in done.stderr and "compose.yaml:" in done.stderr, done.stderr
    assert "docker buildx" in done.stderr
