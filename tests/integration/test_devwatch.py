"""``stackup watch`` (Compose's develop loop) against the real engine: files edited, added and
deleted on the host are seen inside the container within seconds; a change under a ``rebuild``
path builds the image again and recreates the service; Ctrl-C ends it with 130."""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest

from tests.integration.helpers import LOOP, STACKUP, ids, sigint_as_in_a_terminal, write

SEEN_WITHIN = 5.0  # seconds a change may take to show in the container


def _lines(stream: object, out: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        out.put(line.rstrip("\n"))


class Watch:
    """A running ``stackup watch``: its output lines as they come."""

    def __init__(self, folder: Path, project: str, *args: str) -> None:
        self.process = subprocess.Popen(
            [STACKUP, "-p", project, "--progress", "plain", "-f", str(folder / "compose.yaml"),
             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=sigint_as_in_a_terminal)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=_lines, args=(self.process.stdout, self.lines),
                         daemon=True).start()

    def until(self, check: Callable[[str], bool], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.seen.append(line)
            if check(line):
                return line
        raise AssertionError(f"not seen in {timeout} s; output so far: {self.seen}; "
                             f"exit {self.process.poll()}")

    def stop(self, signum: int = signal.SIGINT) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        assert self.process.stderr is not None
        err = self.process.stderr.read()
        time.sleep(0.2)  # the reader thread takes the last lines
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return self.process.returncode, err


@pytest.fixture()
def watching() -> Iterator[list[Watch]]:
    started: list[Watch] = []
    yield started
    for watch in started:
        if watch.process.poll() is None:
            watch.process.kill()
            watch.process.wait()


def in_container(client: docker.DockerClient, name: str, command: str) -> str:
    result = client.containers.get(name).exec_run(["sh", "-c", command])
    return result.output.decode()


def eventually(check: Callable[[], bool], timeout: float = SEEN_WITHIN) -> float:
    """Seconds until ``check`` held (fails after ``timeout``)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"not true within {timeout} s")


SYNC_STACK = f"""
services:
  web:
    image: busybox:local
    command: ["sh", "-c", "{LOOP}"]
    stop_grace_period: 1s
    develop:
      watch:
        - path: ./src
          action: sync
          target: /app
          ignore: ["*.tmp"]
          initial_sync: true
        - path: ./conf
          action: sync+exec
          target: /conf
          exec:
            command: ["sh", "-c", "cat /conf/level > /conf/applied"]
        - path: ./restart
          action: sync+restart
          target: /restart
"""


def test_watch_syncs_edits_additions_and_deletions(tmp_path: Path, project_name: str,
                                                   client: docker.DockerClient,
                                                   watching: list[Watch]) -> None:
    write(tmp_path, SYNC_STACK)
    for folder in ("src", "conf", "restart"):
        (tmp_path / folder).mkdir()
    (tmp_path / "src" / "a.txt").write_text("one\n")
    watch = Watch(tmp_path, project_name, "watch")
    watching.append(watch)
    watch.until(lambda line: line.startswith("watching "), 60)
    name = f"{project_name}-web-1"
    assert in_container(client, name, "cat /app/a.txt") == "one\n"  # initial_sync

    (tmp_path / "src" / "a.txt").write_text("two\n")
    took = eventually(lambda: in_container(client, name, "cat /app/a.txt") == "two\n")
    print(f"an edit was seen in the container after {took:.2f} s")

    (tmp_path / "src" / "sub").mkdir()
    (tmp_path / "src" / "sub" / "b.txt").write_text("added\n")
    (tmp_path / "src" / "c.tmp").write_text("ignored\n")
    eventually(lambda: in_container(client, name, "cat /app/sub/b.txt") == "added\n")

    (tmp_path / "src" / "a.txt").unlink()
    eventually(lambda: "a.txt" not in in_container(client, name, "ls /app"))
    assert in_container(client, name, "ls /app").split() == ["sub"]  # c.tmp never synced

    (tmp_path / "conf" / "level").write_text("debug\n")
    eventually(lambda: in_container(client, name, "cat /conf/applied 2>&1") == "debug\n")

    started = client.containers.get(name).attrs["State"]["StartedAt"]
    (tmp_path / "restart" / "r.txt").write_text("restart me\n")
    eventually(lambda: client.containers.get(name).attrs["State"]["StartedAt"] != started)
    assert in_container(client, name, "cat /restart/r.txt") == "restart me\n"

    code, err = watch.stop()
    assert code == 130 and "interrupted (SIGINT)" in err, err
    assert any(line == f"web: removed {name}:/app/a.txt" for line in watch.seen), watch.seen


REBUILD_STACK = f"""
services:
  app:
    build: ./app
    command: ["sh", "-c", "{LOOP}"]
    stop_grace_period: 1s
    develop:
      watch:
        - path: ./app/message
          action: rebuild
  other:
    image: busybox:local
    command: ["sh", "-c", "{LOOP}"]
    stop_grace_period: 1s
"""


def test_watch_rebuilds_and_recreates_the_service_of_a_rebuild_path(
        tmp_path: Path, project_name: str, client: docker.DockerClient,
        watching: list[Watch]) -> None:
    write(tmp_path, REBUILD_STACK)
    app = tmp_path / "app"
    app.mkdir()
    (app / "Dockerfile").write_text("FROM busybox:local\nCOPY message /message\n")
    (app / "message").write_text("first\n")
    try:
        watch = Watch(tmp_path, project_name, "watch")
        watching.append(watch)
        watch.until(lambda line: line.startswith("watching "), 120)
        before = ids(client, project_name)
        app_name, other_name = f"{project_name}-app-1", f"{project_name}-other-1"
        assert in_container(client, app_name, "cat /message") == "first\n"
        old_image = client.containers.get(app_name).image.id

        (app / "message").write_text("second\n")
        watch.until(lambda line: "rebuilt and recreated app" in line, 90)
        after = ids(client, project_name)
        assert after[app_name] != before[app_name]  # recreated from the new image
        assert after[other_name] == before[other_name]  # another image: left alone
        assert in_container(client, app_name, "cat /message") == "second\n"
        with pytest.raises(docker.errors.ImageNotFound):  # --prune: the replaced one is gone
            client.images.get(old_image)
        code, err = watch.stop()
        assert code == 130, err
    finally:
        subprocess.run(["docker", "rm", "-f", f"{project_name}-app-1"], capture_output=True)
        subprocess.run(["docker", "rmi", "-f", f"{project_name}-app"], capture_output=True)


def test_watch_without_rules_says_so(tmp_path: Path, project_name: str) -> None:
    write(tmp_path, """
services:
  web:
    image: busybox:local
""")
    result = subprocess.run([STACKUP, "-p", project_name, "-f", str(tmp_path / "compose.yaml"),
                             "watch", "--no-up"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "none of the selected services has develop.watch rules" in result.stderr


def test_up_watch_comes_up_detached_then_syncs(tmp_path: Path, project_name: str,
                                               client: docker.DockerClient,
                                               watching: list[Watch]) -> None:
    write(tmp_path, SYNC_STACK)
    (tmp_path / "src").mkdir()
    (tmp_path / "conf").mkdir()
    watch = Watch(tmp_path, project_name, "up", "--watch")
    watching.append(watch)
    watch.until(lambda line: line.startswith("watching "), 60)
    (tmp_path / "src" / "new.txt").write_text("from up --watch\n")
    name = f"{project_name}-web-1"
    eventually(lambda: in_container(client, name, "cat /app/new.txt 2>&1") == "from up --watch\n")
    code, err = watch.stop(signal.SIGTERM)
    assert code == 143 and "interrupted (SIGTERM)" in err, err
    assert client.containers.get(name).status == "running"  # watch leaves the stack running


def test_a_rebuild_rule_needs_a_build_section(tmp_path: Path, project_name: str) -> None:
    write(tmp_path, """
services:
  web:
    image: busybox:local
    develop:
      watch:
        - {path: ., action: rebuild}
""")
    result = subprocess.run([STACKUP, "-p", project_name, "-f", str(tmp_path / "compose.yaml"),
                             "watch", "--no-up"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "service web has a 'rebuild' watch rule but no 'build' section" in result.stderr
