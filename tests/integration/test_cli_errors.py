"""Every failure ends in one readable message and exit 1 (usage errors: 64); --debug or
STACKUP_DEBUG=1 adds the traceback. Through the real command (subprocess) or its entry point."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackup.cli import main as cli_main
from tests.integration.helpers import LOOP, STACKUP, free_port, run, write


def _stackup(*args: str, cwd: Path, env: dict[str, str] | None = None,
             timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([STACKUP, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def _one_message(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert stderr.startswith("error: ")


@pytest.fixture()
def stack(tmp_path: Path) -> Path:
    write(tmp_path, f"""
        services:
          web:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
    """)
    return tmp_path


def test_config_output_to_a_missing_folder(stack: Path) -> None:
    done = _stackup("config", "-o", "/nonexistent/x", cwd=stack)
    assert done.returncode == 1
    _one_message(done.stderr)
    assert done.stderr.splitlines()[0] == \
        "error: cannot write /nonexistent/x: No such file or directory"


@pytest.mark.parametrize("args", [
    ["up", "--bogus"],
    ["--lock-timeout", "-1", "ps"],
    ["no-such-command"],
    ["logs", "--tail", "many"],
    ["up", "--force-recreate", "--no-recreate"],
])
def test_usage_errors_exit_64_not_2(stack: Path, args: list[str]) -> None:
    done = _stackup(*args, cwd=stack)
    assert done.returncode == 64, done.stderr
    assert "Traceback" not in done.stderr
    assert "Error:" in done.stderr


def _bug(*_args: object, **_kwargs: object) -> None:
    raise ZeroDivisionError("division by zero")


def test_a_bug_is_one_message_and_debug_shows_its_traceback(
        stack: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import stackup.loader.loader

    monkeypatch.chdir(stack)
    monkeypatch.delenv("STACKUP_DEBUG", raising=False)
    monkeypatch.setattr(stackup.loader.loader, "load_project", _bug)
    with pytest.raises(SystemExit) as exit_:
        cli_main.main(["config"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "error: internal error: ZeroDivisionError: division by zero",
        "This is a bug in stackup: run again with --debug (or STACKUP_DEBUG=1) to see the "
        "traceback, and report it."]

    for argv, env in ((["--debug", "config"], None), (["config"], "1")):
        if env:
            monkeypatch.setenv("STACKUP_DEBUG", env)
        with pytest.raises(SystemExit) as exit_:
            cli_main.main(argv)
        assert exit_.value.code == 1
        err = capsys.readouterr().err
        assert err.startswith("Traceback (most recent call last):")
        assert "in _bug" in err
        assert err.splitlines()[-1] == "error: internal error: ZeroDivisionError: division by zero"


@pytest.mark.engine
def test_an_operation_that_fails_on_a_bug_shows_its_traceback_with_debug(
        stack: Path, project_name: str, docker_engine: object,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from stackup.adapters.docker import DockerEngine

    monkeypatch.chdir(stack)
    monkeypatch.delenv("STACKUP_DEBUG", raising=False)
    monkeypatch.setattr(DockerEngine, "create_container", _bug)
    for argv in (["up", "-d"], ["--debug", "up", "-d"]):
        with pytest.raises(SystemExit) as exit_:
            cli_main.main(["-p", project_name, "--progress", "plain", *argv])
        assert exit_.value.code == 1
        err = capsys.readouterr().err
        assert "ZeroDivisionError: division by zero" in err
        assert ("Traceback" in err) == ("--debug" in argv)
        if "--debug" in argv:
            assert f"traceback of {project_name}-web-1:" in err
        else:
            assert "--debug" in err  # says how to get the traceback


class Proxy:
    """A TCP front for the engine's unix socket (DOCKER_HOST=tcp://...), which a test can cut,
    or tell to drop every request for a container's logs."""

    def __init__(self, *, drop_logs: bool = False) -> None:
        self.port = free_port()
        self.drop_logs = drop_logs
        self.server = socket.create_server(("127.0.0.1", self.port))
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect("/var/run/docker.sock")
            self.sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False),
                             daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, requests: bool) -> None:
        try:
            while data := source.recv(65536):
                if requests and self.drop_logs and b"/logs?" in data.split(b"\r\n", 1)[0]:
                    break
                target.sendall(data)
        except OSError:
            pass
        for s in (source, target):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        try:
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the accept, refuses new connections
        except OSError:
            pass
        self.server.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture()
def running(stack: Path, project_name: str, docker_engine: object) -> Iterator[Path]:
    run(stack, project_name, "up", "-d")
    yield stack


@pytest.mark.engine
def test_logs_follow_when_the_engine_connection_is_cut(running: Path, project_name: str) -> None:
    proxy = Proxy()
    follow = subprocess.Popen(
        [STACKUP, "-p", project_name, "-f", str(running / "compose.yaml"), "logs", "-f"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "DOCKER_HOST": f"tcp://127.0.0.1:{proxy.port}"})
    time.sleep(2)
    assert follow.poll() is None  # following
    proxy.cut()
    _, stderr = follow.communicate(timeout=30)
    assert follow.returncode == 1
    _one_message(stderr)
    # the address, then the reason ("connection refused")
    assert stderr.splitlines()[0].startswith(
        f"error: cannot reach the Docker engine at tcp://127.0.0.1:{proxy.port}: ")


@pytest.mark.engine
def test_logs_follow_when_the_engine_fails_a_log_stream(running: Path, project_name: str) -> None:
    proxy = Proxy(drop_logs=True)
    try:
        done = subprocess.run(
            [STACKUP, "-p", project_name, "-f", str(running / "compose.yaml"), "logs", "-f"],
            capture_output=True, text=True, timeout=60,
            env={**os.environ, "DOCKER_HOST": f"tcp://127.0.0.1:{proxy.port}"})
    finally:
        proxy.cut()
    assert done.returncode == 1
    _one_message(done.stderr)
    assert done.stderr.splitlines()[0].startswith(
        f"error: cannot reach the Docker engine at tcp://127.0.0.1:{proxy.port}: ")
