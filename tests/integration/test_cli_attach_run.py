"""End to end on the real engine, through the installed command: attached `up` (prefixed
output, --exit-code-from, Ctrl-C), `run` (dependencies, stdin, --rm, exit codes), `exec` streams
(stdin, separate stdout/stderr, output as it comes, exit codes, an interactive TTY without the
docker CLI), `attach`, and the `logs` flags.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import docker
import pytest

from tests.integration.helpers import LOOP, STACKUP, ids, run, write

pytestmark = pytest.mark.engine


def stackup(folder: Path, project: str, *args: str, input: bytes | None = None,
            env: dict[str, str] | None = None,
            timeout: float = 90) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([STACKUP, "-p", project, "--progress", "quiet", "-f",
                           str(folder / "compose.yaml"), *args], input=input,
                          stdin=None if input is not None else subprocess.DEVNULL,
                          capture_output=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def test_up_exit_code_from_stops_the_others(tmp_path: Path, project_name: str,
                                            client: docker.DockerClient) -> None:
    write(tmp_path, f"""
        services:
          db:
            image: busybox:local
            command: ["sh", "-c", "echo db ready; {LOOP}"]
          tests:
            image: busybox:local
            depends_on: [db]
            command: ["sh", "-c", "sleep 0.5; echo running tests; echo oops >&2; exit 3"]
    """)
    result = run(tmp_path, project_name, "up", "--exit-code-from", "tests", check=False)
    assert result.returncode == 3, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Attaching to db-1, tests-1"
    assert {"db-1     | db ready", "tests-1  | running tests", "tests-1  | oops",
            "tests-1 exited with code 3", "Aborting on container exit..."} <= set(lines)
    assert "\x1b[" not in result.stdout  # not a terminal: no colour
    assert client.containers.get(f"{project_name}-db-1").status == "exited"

    unknown = run(tmp_path, project_name, "up", "--exit-code-from", "tset", check=False)
    assert unknown.returncode == 1 and "no such service: tset" in unknown.stderr
    clash = run(tmp_path, project_name, "up", "-d", "--abort-on-container-exit", check=False)
    assert clash.returncode != 0 and "-d cannot be combined" in clash.stderr


def test_up_attached_returns_when_all_exit_in_colour(tmp_path: Path, project_name: str) -> None:
    write(tmp_path, """
        services:
          one:
            image: busybox:local
            command: ["sh", "-c", "echo from one"]
          two:
            image: busybox:local
            command: ["sh", "-c", "sleep 1; echo from two; exit 2"]
    """)
    result = stackup(tmp_path, project_name, "up", "--no-attach", "two",
                     env={"COMPOSE_ANSI": "always"})
    assert result.returncode == 0, result.stderr  # no abort flag: 0 once all attached exited
    out = result.stdout.decode()
    assert "\x1b[36mone-1  | \x1b[0mfrom one\n" in out
    assert "from two" not in out
    plain = stackup(tmp_path, project_name, "up", "--no-color", "--no-log-prefix",
                    "--abort-on-container-failure", env={"COMPOSE_ANSI": "always"})
    assert plain.returncode == 2
    assert re.search(r"^from two$", plain.stdout.decode(), re.M)
    assert "\x1b[" not in plain.stdout.decode()


def test_ctrl_c_stops_the_stack(tmp_path: Path, project_name: str,
                                client: docker.DockerClient) -> None:
    write(tmp_path, f"""
        services:
          web:
            image: busybox:local
            command: ["sh", "-c", "echo web up; trap 'echo web bye; exit 0' TERM;
                                   while :; do sleep 0.2; done"]
          db:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
    """)
    process = subprocess.Popen([STACKUP, "-p", project_name, "--progress", "plain", "-f",
                                str(tmp_path / "compose.yaml"), "up"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    seen = ""
    while "web up" not in seen and time.monotonic() < deadline:
        seen += process.stdout.readline()
    process.send_signal(signal.SIGINT)
    rest, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Gracefully stopping" in stderr and "Traceback" not in stderr
    assert "web-1  | web bye" in seen + rest
    assert {client.containers.get(n).status for n in ids(client, project_name)} == {"exited"}


def test_run_deps_stdin_rm_and_exit_codes(tmp_path: Path, project_name: str,
                                          client: docker.DockerClient) -> None:
    write(tmp_path, f"""
        services:
          db:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
          app:
            image: busybox:local
            depends_on: [db]
            restart: always
            ports: ["8080"]
            command: ["sh", "-c", "{LOOP}"]
    """)
    echoed = stackup(tmp_path, project_name, "run", "--rm", "-T", "app", "cat", input=b"hi\n")
    assert (echoed.returncode, echoed.stdout) == (0, b"hi\n"), echoed.stderr
    assert client.containers.get(f"{project_name}-db-1").status == "running"  # deps first
    assert f"{project_name}-app-1" not in ids(client, project_name)  # not the service itself
    oneoff = {"label": [f"io.stackup.project={project_name}", "io.stackup.oneoff=True"]}
    assert client.containers.list(all=True, filters=oneoff) == []  # --rm

    done = stackup(tmp_path, project_name, "run", "--rm", "--no-deps", "-T", "-e", "X=1",
                   "-w", "/tmp", "app", "sh", "-c", 'echo "$X $(pwd)"; echo err >&2; exit 7')
    assert (done.returncode, done.stdout, done.stderr) == (7, b"1 /tmp\n", b"err\n")

    started = stackup(tmp_path, project_name, "run", "-d", "--name", f"{project_name}-job",
                      "--entrypoint", "sh -c", "app", LOOP)
    assert started.returncode == 0, started.stderr
    job = client.containers.get(started.stdout.decode().strip())
    assert job.name == f"{project_name}-job" and job.status == "running"
    assert job.labels["io.stackup.oneoff"] == "True" and job.labels["io.stackup.service"] == "app"
    assert job.attrs["HostConfig"]["RestartPolicy"]["Name"] in ("", "no")
    assert not job.attrs["HostConfig"].get("PortBindings")  # no --service-ports
    assert run(tmp_path, project_name, "plan", "--exit-code", "db", check=False).returncode == 0


def test_exec_streams(tmp_path: Path, project_name: str) -> None:
    write(tmp_path, f"""
        services:
          db:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
    """)
    run(tmp_path, project_name, "up", "-d")
    data = b"".join(b"row %d\n" % i for i in range(20000))  # more than a pipe buffer
    stored = stackup(tmp_path, project_name, "exec", "-T", "db", "sh", "-c", "cat > /x",
                     input=data)
    assert stored.returncode == 0, stored.stderr
    dumped = stackup(tmp_path, project_name, "exec", "-T", "db", "cat", "/x")
    assert dumped.returncode == 0 and dumped.stdout == data
    split = stackup(tmp_path, project_name, "exec", "-T", "db", "sh", "-c",
                    "echo out; echo err >&2; exit 4")
    assert (split.returncode, split.stdout, split.stderr) == (4, b"out\n", b"err\n")

    process = subprocess.Popen([STACKUP, "-p", project_name, "-f", str(tmp_path / "compose.yaml"),
                                "exec", "-T", "db", "sh", "-c", "echo first; sleep 4; echo last"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    assert process.stdout is not None
    began = time.monotonic()
    assert process.stdout.readline() == b"first\n"
    assert time.monotonic() - began < 3.5  # as it comes, not when the command ends
    assert process.stdout.read() == b"last\n" and process.wait(30) == 0


def _pty_session(argv: list[str], env: dict[str, str]) -> tuple[int, int]:
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execve(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    return pid, fd


def _read_until(fd: int, token: bytes, timeout: float = 20) -> bytes:
    seen, deadline = b"", time.monotonic() + timeout
    while token not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


@pytest.mark.skipif(sys.platform != "linux", reason="pty")
def test_interactive_tty_exec_without_docker_cli(tmp_path: Path, project_name: str) -> None:
    write(tmp_path, f"""
        services:
          db:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
    """)
    run(tmp_path, project_name, "up", "-d")
    (tmp_path / "bin").mkdir()
    path = str(tmp_path / "bin")  # nothing on PATH: no docker CLI to fall back on
    assert shutil.which("docker", path=path) is None
    pid, fd = _pty_session([STACKUP, "-p", project_name, "-f", str(tmp_path / "compose.yaml"),
                            "exec", "db", "sh"], {**os.environ, "PATH": path})
    try:
        assert b"# " in _read_until(fd, b"# ")  # the shell's prompt: a TTY session
        os.write(fd, b"stty size; echo m$((6*7))\r")
        assert b"40 120" in _read_until(fd, b"m42")
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 99, 0, 0))
        os.kill(pid, signal.SIGWINCH)
        time.sleep(0.5)
        os.write(fd, b"stty size; exit 5\r")
        assert b"33 99" in _read_until(fd, b"33 99")
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 5


def test_attach_and_logs_flags(tmp_path: Path, project_name: str) -> None:
    write(tmp_path, f"""
        services:
          talker:
            image: busybox:local
            command: ["sh", "-c", "echo one; sleep 1.2; echo two; {LOOP}"]
          reader:
            image: busybox:local
            stdin_open: true
            command: ["sh", "-c", "read line; echo got $$line; exit 6"]
    """)
    run(tmp_path, project_name, "up", "-d")
    attached = stackup(tmp_path, project_name, "attach", "reader", input=b"hello\n")
    assert (attached.returncode, attached.stdout) == (6, b"got hello\n"), attached.stderr

    deadline = time.monotonic() + 15
    while b"two" not in (logs := stackup(tmp_path, project_name, "logs", "-t", "talker").stdout):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    stamps = dict(reversed(line.split(b" | ", 1)[1].split(b" ", 1)) for line in logs.splitlines())
    since = stamps[b"two"].decode()
    later = stackup(tmp_path, project_name, "logs", "--since", since, "--no-log-prefix", "talker")
    assert later.stdout == b"two\n"
    earlier = stackup(tmp_path, project_name, "logs", "--until", since, "talker")
    assert earlier.stdout == b"talker-1  | one\n"
    last = stackup(tmp_path, project_name, "logs", "-n", "1", "--index", "1", "talker")
    assert last.stdout == b"talker-1  | two\n"
    assert stackup(tmp_path, project_name, "logs", "--index", "2", "talker").stdout == b""
    bad = stackup(tmp_path, project_name, "logs", "--since", "yesterday")
    assert bad.returncode != 0 and b"expected a timestamp" in bad.stderr
