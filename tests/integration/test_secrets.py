"""Secrets stay secret: delivered into the container through the engine API, never shown.

A canary value in each kind of source (environment, file, inline content) is searched for in
everything stackup prints (plan, plan JSON, JSON progress) and in the engine's inspect output of
every container, network and volume; the files must still arrive with their content, mode and
owner. Then the same stack goes up with the engine reached over TCP (a loopback proxy to the
engine's unix socket), where nothing on the runner's disk can be bind-mounted.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.integration.helpers import LOOP, STACKUP, ids, write

SOCKET = "/var/run/docker.sock"


def _stack(folder: Path) -> dict[str, str]:
    """A stack using the three sources; returns the canaries by source."""
    canaries = {kind: f"canary-{kind}-{uuid.uuid4().hex}" for kind in ("env", "file", "content")}
    (folder / "secret.txt").write_text(canaries["file"])
    write(folder, f"""
        services:
          app:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            secrets:
              - tok
              - source: cert
                target: cert.pem
                mode: 0400
                uid: "1000"
                gid: "1001"
            configs:
              - source: settings
                target: /etc/app/settings.ini
                mode: 0440
        secrets:
          tok:
            environment: TOKEN
          cert:
            file: ./secret.txt
        configs:
          settings:
            content: "{canaries['content']}"
    """)
    return canaries


def _stackup(folder: Path, project: str, *args: str, env: dict[str, str] | None = None,
             progress: str = "plain") -> subprocess.CompletedProcess[str]:
    return subprocess.run([STACKUP, "-p", project, "--progress", progress,
                           "-f", str(folder / "compose.yaml"), *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def _files(client: docker.DockerClient, container_id: str) -> list[str]:
    """``mode uid gid content`` of the three files inside the container."""
    script = ("for f in /run/secrets/tok /run/secrets/cert.pem /etc/app/settings.ini; do "
              "echo \"$(stat -c '%a %u %g' $f) $(cat $f)\"; done")
    code, output = client.containers.get(container_id).exec_run(["sh", "-c", script])
    assert code == 0, output
    return output.decode().splitlines()


def _everything_the_engine_shows(client: docker.DockerClient) -> str:
    """The inspect JSON of every container, network and volume on the engine."""
    api, shown = client.api, []
    for getter, inspect, key in ((lambda: api.containers(all=True), api.inspect_container, "Id"),
                                 (api.networks, api.inspect_network, "Id"),
                                 (lambda: api.volumes()["Volumes"] or [], api.inspect_volume,
                                  "Name")):
        for item in getter():
            try:
                shown.append(json.dumps(inspect(item[key])))
            except docker.errors.NotFound:  # another test removed it meanwhile
                continue
    return "\n".join(shown)


def test_canaries_arrive_and_are_shown_nowhere(tmp_path: Path, project_name: str,
                                               client: docker.DockerClient) -> None:
    canaries = _stack(tmp_path)
    env = {"TOKEN": canaries["env"]}
    printed = [_ok(_stackup(tmp_path, project_name, "plan", env=env)),
               _ok(_stackup(tmp_path, project_name, "plan", "--format", "json", env=env)),
               _ok(_stackup(tmp_path, project_name, "up", "-d", env=env, progress="json"))]
    (container_id,) = ids(client, project_name).values()
    assert _files(client, container_id) == [
        f"444 0 0 {canaries['env']}", f"400 1000 1001 {canaries['file']}",
        f"440 0 0 {canaries['content']}"]
    shown = _everything_the_engine_shows(client)
    labels = client.api.inspect_container(container_id)["Config"]["Labels"]
    assert project_name in shown and "sha256" in labels["io.stackup.config"]
    for canary in canaries.values():
        assert canary not in shown
        for output in printed:
            assert canary not in output
    # Editing the secret file recreates the container with the new bytes (still never shown).
    edited = f"canary-edited-{uuid.uuid4().hex}"
    (tmp_path / "secret.txt").write_text(edited)
    plan = _stackup(tmp_path, project_name, "plan", "--exit-code", env=env)
    assert plan.returncode == 2, plan.stdout + plan.stderr  # changes pending
    assert "secrets changed" in plan.stdout and edited not in plan.stdout + plan.stderr
    _ok(_stackup(tmp_path, project_name, "up", "-d", env=env))
    (container_id,) = ids(client, project_name).values()
    assert _files(client, container_id)[1] == f"400 1000 1001 {edited}"
    converged = _stackup(tmp_path, project_name, "plan", "--exit-code", env=env)
    assert converged.returncode == 0, converged.stdout + converged.stderr


def test_an_unreadable_secret_file_names_service_and_file(tmp_path: Path, project_name: str,
                                                          client: docker.DockerClient) -> None:
    _stack(tmp_path)
    (tmp_path / "secret.txt").unlink()
    result = _stackup(tmp_path, project_name, "up", "-d", env={"TOKEN": "x"})
    assert result.returncode == 1
    assert "app" in result.stderr and "secret cert" in result.stderr
    assert str(tmp_path / "secret.txt") in result.stderr and "Traceback" not in result.stderr
    assert ids(client, project_name) == {}  # the half-made container was removed


@pytest.fixture()
def tcp_engine() -> Iterator[tuple[str, list[int]]]:
    """``tcp://127.0.0.1:PORT`` forwarding to the engine's unix socket, and a list that counts
    the connections it served."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    served: list[int] = []

    def pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(SOCKET)
            served.append(1)
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=pump, args=(a, b), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"tcp://127.0.0.1:{listener.getsockname()[1]}", served
    listener.close()


def test_secrets_arrive_through_a_remote_engine(tmp_path: Path, project_name: str,
                                                client: docker.DockerClient,
                                                tcp_engine: tuple[str, list[int]]) -> None:
    if not os.path.exists(SOCKET):
        pytest.skip(f"the engine does not listen on {SOCKET}")
    url, served = tcp_engine
    canaries = _stack(tmp_path)
    env = {"TOKEN": canaries["env"], "DOCKER_HOST": url, "DOCKER_TLS_VERIFY": "",
           "STACKUP_STATE_DIR": str(tmp_path / "no-state-dir-needed")}
    output = _ok(_stackup(tmp_path, project_name, "up", "-d", env=env))
    assert served, "stackup did not talk to the engine through the TCP proxy"
    (container_id,) = ids(client, project_name).values()
    assert [line.split(" ", 3)[3] for line in _files(client, container_id)] == [
        canaries["env"], canaries["file"], canaries["content"]]
    assert not any(canary in output for canary in canaries.values())
    mounts = client.api.inspect_container(container_id)["Mounts"]
    assert not any(m["Type"] == "bind" for m in mounts)
    assert not (tmp_path / "no-state-dir-needed").exists()
    down = _ok(_stackup(tmp_path, project_name, "down", env=env))
    assert ids(client, project_name) == {}, down


def test_a_container_left_created_without_its_secret_files_is_replaced(
        tmp_path: Path, project_name: str, client: docker.DockerClient,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """kill -9 between the create and the copy of the secret files leaves a container with the
    right labels and config hash but no files: the next `up` must not just start it."""
    import stackup
    from stackup.adapters.docker import DockerEngine
    from stackup.adapters.docker import containers as adapter
    from stackup.core.hashing import config_hash

    canaries = _stack(tmp_path)
    environ = {**os.environ, "TOKEN": canaries["env"]}
    project = stackup.load([str(tmp_path / "compose.yaml")], environ=environ,
                           project_name=project_name)
    service = project.services["app"]
    digest, text = config_hash(project, service)
    engine = DockerEngine.from_env()
    try:
        engine.create_network(project_name, project.networks["default"])
        monkeypatch.setattr(adapter, "deliver_files", lambda *args: None)  # killed right here
        engine.create_container(project, service, 1, name=f"{project_name}-app-1",
                                config_hash=digest, config_json=text,
                                image=service.image_ref(project_name))
    finally:
        engine.close()
    monkeypatch.undo()
    planned = subprocess.run([STACKUP, "-p", project_name, "-f", str(tmp_path / "compose.yaml"),
                              "plan"], capture_output=True, text=True, env=environ, timeout=120)
    assert "created but never started" in planned.stdout, planned.stdout + planned.stderr
    done = subprocess.run([STACKUP, "-p", project_name, "-f", str(tmp_path / "compose.yaml"),
                           "up", "-d"], capture_output=True, text=True, env=environ, timeout=120)
    assert done.returncode == 0, done.stderr
    app = client.containers.get(f"{project_name}-app-1")
    assert app.status == "running"
    got = app.exec_run(["cat", "/run/secrets/tok"])
    assert got.exit_code == 0 and got.output.decode() == canaries["env"]
