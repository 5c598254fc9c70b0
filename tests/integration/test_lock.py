"""One writer per project, on the real engine: two `up` started together, a holder killed with
kill -9 (here: taken over at once; on another host: after its lease), --lock-timeout 0,
`unlock --force`, and the commands that must never take the lock."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from stackup.adapters.docker import DockerEngine
from stackup.app.locking import force_unlock, holder_of
from stackup.ports.lock import LOCK, LockHolder, holder_labels, record_name
from tests.integration.helpers import LOOP, STACKUP, run, write

pytestmark = pytest.mark.engine


@pytest.fixture()
def lock_store(docker_engine: DockerEngine, project_name: str) -> Iterator[object]:
    """The engine's lock store; the project's lock records are removed afterwards."""
    store = docker_engine.lock_store()
    yield store
    force_unlock(store, project_name)


def _stack(folder: Path, services: int = 1) -> None:
    body = "".join(f"""
          s{n}:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            stop_grace_period: 1s""" for n in range(services))
    write(folder, "services:" + body + "\n")


def _elsewhere(client: docker.DockerClient, project: str, *, lease: float) -> LockHolder:
    """A lock record as a run on another machine leaves it (its pid means nothing here)."""
    holder = LockHolder(token="elsewhere-token", user="ci", host="runner-elsewhere",
                        host_id="not-this-host", pid=31337, pid_start="", command="stackup up",
                        since="2024-05-01T10:00:00Z", lease=lease)
    client.volumes.create(record_name(project, 1), driver="local",
                          labels=holder_labels(project, 1, holder))
    return holder


def test_two_ups_started_together_both_succeed_one_after_the_other(
        tmp_path: Path, project_name: str, client: docker.DockerClient,
        lock_store: object) -> None:
    _stack(tmp_path, 20)
    args = [STACKUP, "-p", project_name, "--progress", "plain", "-f",
            str(tmp_path / "compose.yaml"), "up", "-d"]
    runs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    results = [(p.wait(timeout=180), p.stderr.read() if p.stderr else "") for p in runs]
    for code, stderr in results:
        assert code == 0, stderr
    # exactly one of them waited for the other, and said who held the lock
    waits = [err for _, err in results if "waiting for the lock of project" in err]
    assert len(waits) == 1
    assert "`stackup up`" in waits[0] and "pid " in waits[0]
    label = {"label": f"io.stackup.project={project_name}"}
    assert len(client.networks.list(filters=label)) == 1
    assert len(client.networks.list(names=[f"{project_name}_default"])) == 1
    containers = client.containers.list(all=True, filters=label)
    assert sorted(c.name for c in containers) == sorted(
        f"{project_name}-s{n}-1" for n in range(20))
    assert all(c.status == "running" for c in containers)
    # the lock is gone with its holders, and was never a project volume
    assert client.volumes.list(filters={"label": f"{LOCK}={project_name}"}) == []
    assert client.volumes.list(filters=label) == []


def test_holder_killed_on_this_host_does_not_block_the_next_run(
        tmp_path: Path, project_name: str, lock_store: object) -> None:
    write(tmp_path, f"""
        services:
          slow:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            stop_grace_period: 1s
            healthcheck:
              test: ["CMD", "true"]
              interval: 1h
              start_period: 1h
    """)
    holder = subprocess.Popen(
        [STACKUP, "-p", project_name, "--progress", "quiet", "-f", str(tmp_path / "compose.yaml"),
         "up", "--wait", "--wait-timeout", "120"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    record = None
    while time.monotonic() < deadline:
        record = holder_of(lock_store, project_name)  # type: ignore[arg-type]
        if record is not None:
            break
        time.sleep(0.1)
    assert record is not None and record.holder.pid == holder.pid
    assert record.holder.command == "stackup up"
    time.sleep(1)  # well into `up --wait`
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=10)
    assert holder_of(lock_store, project_name) is not None  # kill -9 left it behind
    start = time.monotonic()
    rerun = run(tmp_path, project_name, "--lock-timeout", "0", "up", "-d")
    assert time.monotonic() - start < 15
    assert (f"took over the lock of project {project_name} from {record.holder.describe()}: "
            f"its process (pid {holder.pid}) is gone") in rerun.stderr
    assert holder_of(lock_store, project_name) is None


def test_lock_of_another_host_fails_at_once_with_timeout_zero_then_expires_after_its_lease(
        tmp_path: Path, project_name: str, client: docker.DockerClient,
        lock_store: object) -> None:
    _stack(tmp_path)
    holder = _elsewhere(client, project_name, lease=2)
    start = time.monotonic()
    refused = run(tmp_path, project_name, "--lock-timeout", "0", "up", "-d", check=False)
    assert refused.returncode == 1
    assert time.monotonic() - start < 5
    assert refused.stderr.splitlines()[0] == (
        f"error: project {project_name} is locked by ci@runner-elsewhere (pid 31337, "
        f"`stackup up`, since 2024-05-01T10:00:00Z)")
    assert "Traceback" not in refused.stderr
    assert client.containers.list(all=True, filters={
        "label": f"io.stackup.project={project_name}"}) == []  # nothing was touched

    time.sleep(1.5)  # the record is never renewed: it goes stale after its lease (2 s)
    start = time.monotonic()
    done = run(tmp_path, project_name, "--lock-timeout", "30", "up", "-d")
    assert time.monotonic() - start < 20
    assert f"from {holder.describe()}: not renewed for" in done.stderr
    assert [c.name for c in client.containers.list(filters={
        "label": f"io.stackup.project={project_name}"})] == [f"{project_name}-s0-1"]


def test_unlock_force_removes_a_lock_and_read_only_commands_never_wait(
        tmp_path: Path, project_name: str, client: docker.DockerClient,
        lock_store: object) -> None:
    _stack(tmp_path)
    run(tmp_path, project_name, "up", "-d")
    _elsewhere(client, project_name, lease=3600)
    for args in (["ps"], ["plan"], ["config", "-q"], ["images"], ["logs"], ["plan", "--exit-code"]):
        result = run(tmp_path, project_name, "--lock-timeout", "0", *args)
        assert "locked" not in result.stderr, args
    assert run(tmp_path, project_name, "--lock-timeout", "0", "stop",
               check=False).returncode == 1

    shown = run(tmp_path, project_name, "unlock", check=False)
    assert shown.returncode == 1
    assert "locked by ci@runner-elsewhere (pid 31337" in shown.stderr
    forced = run(tmp_path, project_name, "unlock", "--force")
    assert f"removed the lock of project {project_name} held by ci@runner-elsewhere" \
        in forced.stderr
    assert client.volumes.list(filters={"label": f"{LOCK}={project_name}"}) == []
    run(tmp_path, project_name, "--lock-timeout", "0", "down", "-v")
    assert "is not locked" in run(tmp_path, project_name, "unlock", "--force").stderr


def test_lock_volumes_are_not_project_volumes(tmp_path: Path, project_name: str,
                                              docker_engine: DockerEngine,
                                              lock_store: object) -> None:
    """observe (and so `down -v`) selects by the project label; the lock has its own."""
    from stackup.app.locking import ProjectLock

    with ProjectLock(lock_store, project_name, "stackup test"):  # type: ignore[arg-type]
        observed = docker_engine.observe(project_name)
        assert observed.volumes == {}
        record = holder_of(lock_store, project_name)  # type: ignore[arg-type]
        assert record is not None and record.name.startswith(f"stackup-lock.{project_name}.")
    assert holder_of(lock_store, project_name) is None  # type: ignore[arg-type]


def test_run_and_wait_down_project_take_the_lock(tmp_path: Path, project_name: str,
                                                 client: docker.DockerClient,
                                                 lock_store: object) -> None:
    """`run` starts the service's dependencies and `wait --down-project` takes the project
    down: both change the project, so both wait for (here: are refused by) another's lock."""
    write(tmp_path, f"""
        services:
          db:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            stop_grace_period: 1s
          job:
            image: busybox:local
            command: ["true"]
            depends_on: [db]
        """)
    label = {"label": f"io.stackup.project={project_name}"}
    _elsewhere(client, project_name, lease=3600)
    refused = run(tmp_path, project_name, "--lock-timeout", "0", "run", "--rm", "job",
                  check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.splitlines()[0].startswith(
        f"error: project {project_name} is locked by ci@runner-elsewhere")
    assert client.containers.list(all=True, filters=label) == []  # db was not started
    force_unlock(lock_store, project_name)  # type: ignore[arg-type]

    done = run(tmp_path, project_name, "--lock-timeout", "0", "run", "--rm", "job")
    assert done.returncode == 0
    assert [c.name for c in client.containers.list(filters=label)] == [f"{project_name}-db-1"]

    _elsewhere(client, project_name, lease=3600)
    client.containers.get(f"{project_name}-db-1").stop(timeout=1)
    held = run(tmp_path, project_name, "--lock-timeout", "0", "wait", "--down-project", "db",
               check=False)
    assert held.returncode == 1 and "locked by ci@runner-elsewhere" in held.stderr
    assert client.containers.list(all=True, filters=label) != []  # not taken down
    force_unlock(lock_store, project_name)  # type: ignore[arg-type]
    run(tmp_path, project_name, "--lock-timeout", "0", "wait", "--down-project", "db")
    assert client.containers.list(all=True, filters=label) == []


def test_a_bad_stack_file_is_reported_at_once_and_leaves_no_lock(
        tmp_path: Path, project_name: str, client: docker.DockerClient,
        lock_store: object) -> None:
    """With -p, a stack file that does not load is reported at once (it is loaded before the
    lock is taken), not after waiting for another run's lock, and leaves no lock behind."""
    write(tmp_path, "services:\n  web:\n    image: busybox:local\n    ports: [\"x:y:z:w\"]\n")
    lock_label = {"label": f"{LOCK}={project_name}"}
    bad = run(tmp_path, project_name, "up", "-d", check=False)
    assert bad.returncode == 1 and "ports" in bad.stderr, bad.stderr
    assert client.volumes.list(filters=lock_label) == []  # nothing of ours is left

    holder = _elsewhere(client, project_name, lease=3600)
    start = time.monotonic()
    bad = run(tmp_path, project_name, "--lock-timeout", "60", "up", "-d", check=False)
    assert time.monotonic() - start < 10  # not the 60 s lock wait
    assert bad.returncode == 1 and "ports" in bad.stderr, bad.stderr
    assert "Traceback" not in bad.stderr
    [left] = client.volumes.list(filters=lock_label)  # only the other run's record
    assert left.attrs["Labels"]["io.stackup.lock.token"] == holder.token
