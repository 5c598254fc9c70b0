"""Compose's flags on the real engine, through the installed command (issue 20, item 1):
`exec -it` / `-ti` and `run --rm -it` on a real pseudo-terminal, `exec -d`, the `run` flags
that change the container (`--cap-add`, `--cap-drop`, `--env-from-file`, `-P`), and an unknown
option as a usage error naming it (exit 64) instead of a service name.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

from tests.integration.helpers import LOOP, STACKUP, run, write
from tests.integration.test_cli_attach_run import _pty_session, _read_until, stackup

pytestmark = pytest.mark.engine

STACK = f"""
    services:
      web:
        image: busybox:local
        ports: ["80"]
        cap_drop: [NET_RAW]
        command: ["sh", "-c", "{LOOP}"]
"""


def _typed_session(argv: list[str]) -> tuple[bytes, int]:
    """Run ``argv`` on a pseudo-terminal, type a command at the shell's prompt, read its
    output, then ``exit 3``: (what the terminal showed, the exit code)."""
    pid, fd = _pty_session(argv, dict(os.environ))
    try:
        seen = _read_until(fd, b"# ")  # the shell's prompt: it runs on a TTY
        assert b"# " in seen, seen
        os.write(fd, b"tty; echo m$((6*7))\r")
        seen += _read_until(fd, b"m42")
        os.write(fd, b"exit 3\r")
        seen += _read_until(fd, b"\x00", timeout=5)  # to the end of the output
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return seen, os.waitstatus_to_exitcode(status)


@pytest.mark.skipif(sys.platform != "linux", reason="pty")
@pytest.mark.parametrize("flags", [["exec", "-it"], ["exec", "-ti"], ["run", "--rm", "-it"]])
def test_it_on_a_pseudo_terminal(tmp_path: Path, project_name: str, flags: list[str],
                                 client: docker.DockerClient) -> None:
    write(tmp_path, STACK)
    run(tmp_path, project_name, "up", "-d")
    seen, code = _typed_session([STACKUP, "-p", project_name, "--progress", "quiet", "-f",
                                 str(tmp_path / "compose.yaml"), *flags, "web", "sh"])
    assert b"/dev/pts/" in seen and b"m42" in seen, seen  # a TTY inside; the typed command ran
    assert code == 3, seen
    if flags[0] == "run":  # --rm: the one-off container is gone
        oneoff = {"label": [f"io.stackup.project={project_name}", "io.stackup.oneoff=True"]}
        assert client.containers.list(all=True, filters=oneoff) == []


def test_unknown_option_is_a_usage_error_naming_it(tmp_path: Path, project_name: str) -> None:
    write(tmp_path, STACK)
    for args, option in ((["exec", "-x", "web", "sh"], "-x"),
                         (["exec", "--nope", "web", "sh"], "--nope"),
                         (["run", "--bogus", "web"], "--bogus"),
                         (["run", "-Z", "web"], "-Z")):
        result = stackup(tmp_path, project_name, *args)
        assert result.returncode == 64, (args, result.stderr)
        assert f"No such option '{option}'".encode() in result.stderr, result.stderr
        assert b"no such service" not in result.stderr


def test_exec_flags_and_trailing_options(tmp_path: Path, project_name: str) -> None:
    write(tmp_path, STACK)
    run(tmp_path, project_name, "up", "-d")
    # the command's own options after SERVICE go to it, -i/-t accepted without a terminal
    listed = stackup(tmp_path, project_name, "exec", "-it", "web", "ls", "-la", "/bin/sh")
    assert listed.returncode == 0 and b"/bin/sh -> /bin/busybox" in listed.stdout, listed
    began = time.monotonic()
    detached = stackup(tmp_path, project_name, "exec", "-d", "web", "sh", "-c",
                       "sleep 5; echo done > /marker")
    assert (detached.returncode, detached.stdout) == (0, b""), detached.stderr
    assert time.monotonic() - began < 5
    missing = stackup(tmp_path, project_name, "exec", "-T", "web", "cat", "/marker")
    assert missing.returncode != 0  # -d returned before the command finished
    deadline = time.monotonic() + 20
    while (found := stackup(tmp_path, project_name, "exec", "-T", "web", "cat",
                            "/marker")).returncode != 0:
        assert time.monotonic() < deadline, found.stderr
        time.sleep(0.3)
    assert found.stdout == b"done\n"


def test_run_flags_change_the_container(tmp_path: Path, project_name: str,
                                        client: docker.DockerClient) -> None:
    write(tmp_path, STACK)
    (tmp_path / "vars.env").write_text("A=1\nB=${A}2\nC=from-file\n")
    started = stackup(tmp_path, project_name, "run", "-d", "--cap-add", "NET_ADMIN",
                      "--cap-add", "NET_RAW", "--cap-drop", "CHOWN", "-P",
                      "--env-from-file", str(tmp_path / "vars.env"), "-e", "C=cli",
                      "web", "sh", "-c", LOOP)
    assert started.returncode == 0, started.stderr
    container = client.containers.get(started.stdout.decode().strip())
    host = container.attrs["HostConfig"]
    assert set(host["CapAdd"]) == {"NET_ADMIN", "NET_RAW"}
    assert host["CapDrop"] == ["CHOWN"]  # NET_RAW added back: out of the service's cap_drop
    env = container.attrs["Config"]["Env"]
    assert {"A=1", "B=12", "C=cli"} <= set(env)  # -e wins over the file
    assert container.attrs["NetworkSettings"]["Ports"]["80/tcp"]  # -P: the service's ports

    quiet = stackup(tmp_path, project_name, "run", "--rm", "-T", "-q", "--pull", "policy",
                    "web", "echo", "hi")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, b"hi\n", b"")


def test_namespaces_of_services_and_a_bind_device_volume(tmp_path: Path, project_name: str,
                                                        client: docker.DockerClient) -> None:
    """issue 20 item 4 on the engine: ``ipc``/``pid: service:x`` start x first and join its
    container's namespace; a ``local`` volume bound to ``./data`` mounts the project's folder."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "hello.txt").write_text("from the host\n")
    write(tmp_path, f"""
        services:
          app:
            image: busybox:local
            ipc: "service:shm"
            pid: "service:shm"
            volumes: [data:/data]
            command: ["sh", "-c", "{LOOP}"]
          shm:
            image: busybox:local
            ipc: shareable
            command: ["sh", "-c", "{LOOP}"]
        volumes:
          data:
            driver_opts: {{type: none, o: bind, device: ./data}}
    """)
    run(tmp_path, project_name, "up", "-d", "app")  # shm comes first, as a dependency
    shm = client.containers.get(f"{project_name}-shm-1")
    app = client.containers.get(f"{project_name}-app-1")
    assert app.attrs["HostConfig"]["IpcMode"] == f"container:{shm.id}"  # the engine keeps the id
    assert app.attrs["HostConfig"]["PidMode"] == f"container:{shm.id}"
    seen = stackup(tmp_path, project_name, "exec", "-T", "app", "cat", "/data/hello.txt")
    assert seen.stdout == b"from the host\n", seen.stderr
    volume = client.volumes.get(f"{project_name}_data")
    assert volume.attrs["Options"]["device"] == str(tmp_path / "data")
    run(tmp_path, project_name, "down", "-v")


def test_start_wait_kill_orphans_stats_pull_build_flags(tmp_path: Path, project_name: str,
                                                        client: docker.DockerClient) -> None:
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM busybox:local\n")
    write(tmp_path, f"""
        services:
          web:
            image: busybox:local
            command: ["sh", "-c", "sleep 2; touch /ok; {LOOP}"]
            healthcheck: {{test: ["CMD", "test", "-f", "/ok"], interval: 1s}}
          built:
            image: {project_name}-built:dev
            build: {{context: ./ctx, args: {{A: "1"}}}}
    """)
    created = run(tmp_path, project_name, "create", "--no-build", "--quiet-pull", "web")
    assert client.containers.get(f"{project_name}-web-1").status == "created", created.stderr
    began = time.monotonic()
    run(tmp_path, project_name, "start", "--wait", "--wait-timeout", "60", "web")
    assert time.monotonic() - began > 1.5  # it waited for the healthcheck
    web = client.containers.get(f"{project_name}-web-1")
    assert web.attrs["State"]["Health"]["Status"] == "healthy"

    stats = stackup(tmp_path, project_name, "stats", "--no-stream", "--no-trunc", "--format",
                    "{{.ID}} {{.Name}}")
    assert stats.stdout.decode().split() == [web.id, web.name], stats.stderr

    printed = stackup(tmp_path, project_name, "build", "--print")
    assert printed.returncode == 0, printed.stderr
    bake = json.loads(printed.stdout)
    assert bake["group"]["default"]["targets"] == ["built"]
    assert bake["target"]["built"]["args"] == {"A": "1"}
    assert bake["target"]["built"]["tags"] == [f"{project_name}-built:dev"]
    assert not client.images.list(name=f"{project_name}-built")  # printed, not built
    nothing = stackup(tmp_path, project_name, "pull", "--ignore-buildable", "built")
    assert nothing.returncode == 0 and b"No images to pull" in nothing.stderr

    # an orphan: a service the file no longer has
    (tmp_path / "orphan.yaml").write_text(
        f'services:\n  gone:\n    image: busybox:local\n    command: ["sh", "-c", "{LOOP}"]\n')
    subprocess.run([STACKUP, "-p", project_name, "--progress", "quiet", "-f",
                    str(tmp_path / "orphan.yaml"), "up", "-d"], check=True, timeout=60)
    write(tmp_path, f"""
        services:
          web:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
    """)
    stackup(tmp_path, project_name, "kill")
    assert client.containers.get(f"{project_name}-gone-1").status == "running"  # not without it
    stackup(tmp_path, project_name, "kill", "--remove-orphans")
    assert client.containers.get(f"{project_name}-gone-1").status == "exited"
    run(tmp_path, project_name, "down", "--remove-orphans")


@pytest.mark.skipif(sys.platform != "linux", reason="pty")
def test_attach_detach_keys_leave_the_container_running(tmp_path: Path, project_name: str,
                                                       client: docker.DockerClient) -> None:
    write(tmp_path, """
        services:
          shell:
            image: busybox:local
            stdin_open: true
            tty: true
            stop_grace_period: 1s
            command: ["sh"]
    """)
    run(tmp_path, project_name, "up", "-d")
    pid, fd = _pty_session([STACKUP, "-p", project_name, "-f", str(tmp_path / "compose.yaml"),
                            "attach", "--detach-keys", "ctrl-x", "shell"], dict(os.environ))
    try:
        time.sleep(1.0)  # attached: the shell's prompt was printed before, type a command
        os.write(fd, b"echo m$((6*7))\r")
        assert b"m42" in _read_until(fd, b"m42")
        os.write(fd, b"\x18")  # ctrl-x
        _read_until(fd, b"\x00", timeout=5)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    assert client.containers.get(f"{project_name}-shell-1").status == "running"


def test_config_resolve_and_lock_image_digests(tmp_path: Path, project_name: str,
                                               client: docker.DockerClient) -> None:
    from tests.registry_server import RegistryServer

    with RegistryServer() as registry:
        ref = f"127.0.0.1:{registry.port}/{project_name}/app:1"
        client.images.get("busybox:local").tag(ref)
        try:
            for line in client.api.push(ref, stream=True, decode=True):
                assert "error" not in line, line
            digest = client.api.inspect_distribution(ref)["Descriptor"]["digest"]
            write(tmp_path, f"""
                services:
                  app:
                    image: {ref}
                  built:
                    build: .
            """)
            resolved = run(tmp_path, project_name, "config", "--format", "json",
                           "--resolve-image-digests")
            services = json.loads(resolved.stdout)["services"]
            assert services["app"]["image"] == f"{ref}@{digest}"
            assert "image" not in services["built"]  # built here: nothing to resolve
            locked = run(tmp_path, project_name, "config", "--lock-image-digests")
            assert locked.stdout == f"services:\n  app:\n    image: {ref}@{digest}\n"
        finally:
            client.images.remove(ref)


def test_cp_to_every_replica_and_all_with_one_offs(tmp_path: Path, project_name: str) -> None:
    write(tmp_path, f"""
        services:
          web:
            image: busybox:local
            scale: 2
            stop_grace_period: 1s
            command: ["sh", "-c", "{LOOP}"]
    """)
    run(tmp_path, project_name, "up", "-d")
    job = stackup(tmp_path, project_name, "run", "-d", "--no-deps", "web", "sh", "-c", LOOP)
    assert job.returncode == 0, job.stderr
    (tmp_path / "one.txt").write_text("one\n")
    (tmp_path / "two.txt").write_text("two\n")
    assert stackup(tmp_path, project_name, "cp", str(tmp_path / "one.txt"),
                   "web:/one.txt").returncode == 0
    assert stackup(tmp_path, project_name, "cp", "--all", str(tmp_path / "two.txt"),
                   "web:/two.txt").returncode == 0
    for replica in ("1", "2"):
        seen = stackup(tmp_path, project_name, "exec", "-T", "--index", replica, "web", "cat",
                       "/one.txt", "/two.txt")
        assert seen.stdout == b"one\ntwo\n", (replica, seen.stderr)
    oneoff = docker.from_env().containers.get(job.stdout.decode().strip())
    listed = oneoff.exec_run(["cat", "/two.txt"])
    assert listed.output == b"two\n"  # --all: the one-off container too
    assert oneoff.exec_run(["cat", "/one.txt"]).exit_code != 0  # not without it
    oneoff.remove(force=True)
    run(tmp_path, project_name, "down")


def test_build_builder_goes_to_buildx(tmp_path: Path, project_name: str,
                                      client: docker.DockerClient) -> None:
    if subprocess.run(["docker", "buildx", "version"], capture_output=True).returncode != 0:
        pytest.skip("no docker buildx plugin (scripts/cli_plugins.sh buildx)")
    (tmp_path / "Dockerfile").write_text("FROM busybox:local\nRUN echo built\n")
    write(tmp_path, f"""
        services:
          app:
            image: {project_name}-app:1
            build: .
    """)
    missing = stackup(tmp_path, project_name, "build", "--builder", "no-such-builder")
    assert missing.returncode == 1 and b'no builder "no-such-builder"' in missing.stderr
    built = stackup(tmp_path, project_name, "build", "--builder", "default", "--quiet")
    assert built.returncode == 0, built.stderr
    client.images.remove(f"{project_name}-app:1")


def test_all_resources_makes_the_unused_networks_and_volumes(tmp_path: Path,
                                                            project_name: str,
                                                            client: docker.DockerClient) -> None:
    write(tmp_path, f"""
        services:
          app:
            image: busybox:local
            stop_grace_period: 1s
            command: ["sh", "-c", "{LOOP}"]
        networks:
          lonely: {{}}
        volumes:
          unused: {{}}
    """)
    plain = run(tmp_path, project_name, "plan")
    assert "lonely" not in plain.stdout and "unused" not in plain.stdout  # as Compose
    planned = run(tmp_path, project_name, "--all-resources", "plan")
    assert f"network {project_name}_lonely" in planned.stdout
    assert f"volume  {project_name}_unused" in planned.stdout
    run(tmp_path, project_name, "--all-resources", "up", "-d")
    client.networks.get(f"{project_name}_lonely")
    client.volumes.get(f"{project_name}_unused")
    again = run(tmp_path, project_name, "--all-resources", "plan", "--exit-code", check=False)
    assert again.returncode == 0, again.stdout  # converged
    run(tmp_path, project_name, "down", "-v")
    assert not client.networks.list(names=[f"{project_name}_lonely"])
