"""End to end on the real engine: ps, logs, exec, start/stop/restart/rm, --wait, selection of
services, secrets and configs, external resources, and an interrupted `up` that a rerun finishes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import docker
import pytest

from tests.integration.helpers import LOOP, STACKUP, ids, run, sigint_as_in_a_terminal, write

pytestmark = pytest.mark.engine


def test_ps_logs_exec(tmp_path: Path, project_name: str) -> None:
    write(tmp_path, f"""
        services:
          talker:
            image: busybox:local
            command: ["sh", "-c", "echo first line; echo second line; {LOOP}"]
          quiet:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
    """)
    run(tmp_path, project_name, "up", "-d")
    lines = run(tmp_path, project_name, "ps", "--format", "json").stdout.splitlines()
    rows = [json.loads(line) for line in lines]  # one object per line, Compose's keys
    assert [(r["Service"], r["Name"], r["State"]) for r in rows] == [
        ("quiet", f"{project_name}-quiet-1", "running"),
        ("talker", f"{project_name}-talker-1", "running")]
    table = run(tmp_path, project_name, "ps").stdout
    assert table.splitlines()[0].split() == ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED",
                                             "STATUS", "PORTS"]

    deadline = time.monotonic() + 10
    while True:
        logs = run(tmp_path, project_name, "logs", "talker").stdout
        if "second line" in logs or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert logs.splitlines()[:2] == ["talker-1  | first line", "talker-1  | second line"]
    tail = run(tmp_path, project_name, "logs", "--tail", "1", "talker").stdout
    assert tail.splitlines() == ["talker-1  | second line"]

    done = run(tmp_path, project_name, "exec", "-T", "quiet", "sh", "-c", "echo out; exit 7",
               check=False)
    assert done.returncode == 7
    assert done.stdout == "out\n"

    unknown = run(tmp_path, project_name, "logs", "talkr", check=False)
    assert unknown.returncode == 1
    assert "no such service: talkr" in unknown.stderr
    assert "talker" in unknown.stderr


def test_stop_start_restart_rm(tmp_path: Path, project_name: str,
                               client: docker.DockerClient) -> None:
    write(tmp_path, f"""
        services:
          a:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
          b:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
    """)
    run(tmp_path, project_name, "up", "-d")
    created = ids(client, project_name)
    run(tmp_path, project_name, "stop", "a")
    assert client.containers.get(f"{project_name}-a-1").status == "exited"
    assert client.containers.get(f"{project_name}-b-1").status == "running"
    planned = run(tmp_path, project_name, "plan").stdout
    assert f"{project_name}-a-1" in planned and "start" in planned

    run(tmp_path, project_name, "start", "a")
    assert client.containers.get(f"{project_name}-a-1").status == "running"
    before = client.containers.get(f"{project_name}-b-1").attrs["State"]["StartedAt"]
    run(tmp_path, project_name, "restart", "b")
    after = client.containers.get(f"{project_name}-b-1").attrs["State"]["StartedAt"]
    assert after != before
    assert ids(client, project_name) == created  # nothing was recreated

    run(tmp_path, project_name, "stop")
    run(tmp_path, project_name, "rm")
    assert ids(client, project_name) == {}


def test_up_named_service_brings_its_dependencies_only(tmp_path: Path, project_name: str,
                                                        client: docker.DockerClient) -> None:
    write(tmp_path, f"""
        services:
          db:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
          api:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            depends_on: [db]
          other:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
    """)
    run(tmp_path, project_name, "up", "-d", "api")
    assert sorted(ids(client, project_name)) == [f"{project_name}-api-1", f"{project_name}-db-1"]
    bad = run(tmp_path, project_name, "up", "-d", "apj", check=False)
    assert bad.returncode == 1 and "no such service: apj" in bad.stderr


def test_wait_fails_naming_the_unhealthy_service(tmp_path: Path, project_name: str) -> None:
    write(tmp_path, f"""
        services:
          sick:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            healthcheck:
              test: ["CMD-SHELL", "echo not ready yet; exit 1"]
              interval: 0.2s
              retries: 2
    """)
    result = run(tmp_path, project_name, "up", "--wait", "--wait-timeout", "20", check=False)
    assert result.returncode == 1
    assert "sick" in result.stderr
    assert "unhealthy" in result.stderr
    assert "not ready yet" in result.stderr  # the health log


def test_secrets_and_configs_are_mounted(tmp_path: Path, project_name: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INLINE_SECRET", "from-env")
    (tmp_path / "token.txt").write_text("s3cret-from-file\n")
    write(tmp_path, f"""
        services:
          app:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            secrets: [token, inline]
            configs:
              - source: settings
                target: /etc/app/settings.ini
        secrets:
          token:
            file: ./token.txt
          inline:
            environment: INLINE_SECRET
        configs:
          settings:
            content: "level=debug"
    """)
    run(tmp_path, project_name, "up", "-d")
    show = run(tmp_path, project_name, "exec", "-T", "app", "sh", "-c",
               "cat /run/secrets/token /run/secrets/inline; echo; cat /etc/app/settings.ini")
    assert show.stdout.split() == ["s3cret-from-file", "from-env", "level=debug"]


def test_missing_external_network_is_a_clear_error(tmp_path: Path, project_name: str,
                                                   client: docker.DockerClient) -> None:
    write(tmp_path, f"""
        services:
          app:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            networks: [shared]
        networks:
          shared:
            external: true
            name: {project_name}-shared
    """)
    result = run(tmp_path, project_name, "up", "-d", check=False)
    assert result.returncode == 1
    assert f"{project_name}-shared" in result.stderr and "not found" in result.stderr
    assert ids(client, project_name) == {}

    network = client.networks.create(f"{project_name}-shared")
    try:
        run(tmp_path, project_name, "up", "-d")
        run(tmp_path, project_name, "down")
        network.reload()  # external: still there after down
    finally:
        network.remove()


def test_interrupted_up_converges_on_rerun(tmp_path: Path, project_name: str,
                                           client: docker.DockerClient) -> None:
    services = "".join(f"""
          s{i}:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]""" for i in range(20))
    write(tmp_path, "services:" + services + "\n")
    process = subprocess.Popen([STACKUP, "-p", project_name, "--parallel", "1", "-f",
                                str(tmp_path / "compose.yaml"), "up", "-d"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=sigint_as_in_a_terminal)
    deadline = time.monotonic() + 30
    while not ids(client, project_name) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert len(ids(client, project_name)) < 20  # it really stopped part way
    run(tmp_path, project_name, "up", "-d")
    names = ids(client, project_name)
    assert len(names) == 20
    assert all(client.containers.get(n).status == "running" for n in names)
    again = run(tmp_path, project_name, "plan", "--exit-code", check=False)
    assert again.returncode == 0, again.stdout


@pytest.mark.slow
def test_ctrl_c_at_any_moment_of_up_ends_it_and_a_rerun_converges(
        tmp_path: Path, project_name: str, client: docker.DockerClient) -> None:
    """SIGINT swept over the whole of `up`, from once the `stackup` command can start (before
    that, Python is still importing it and stops with its own KeyboardInterrupt; `--version`
    is timed for that) to near the end of an uninterrupted run timed first: while the stack
    file loads, while the engine is read, while the plan runs. Each run ends at once with 130 (or 0, done before the signal counted),
    without a traceback or a hang, and most were really interrupted; then a rerun converges."""
    services = "".join(f"""
          s{i}:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            stop_grace_period: 1s
            environment: {{GEN: "${{GEN}}"}}""" for i in range(4))
    write(tmp_path, "services:" + services + "\n")
    base = [STACKUP, "-p", project_name, "-f", str(tmp_path / "compose.yaml")]

    def timed_up(gen: str) -> float:
        started = time.monotonic()
        done = subprocess.run([*base, "up", "-d"], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "GEN": gen})
        assert done.returncode == 0, done.stderr
        return time.monotonic() - started

    def started() -> float:  # Python and the `stackup` script's imports, once
        began = time.monotonic()
        subprocess.run([STACKUP, "--version"], capture_output=True, timeout=60, check=True)
        return time.monotonic() - began

    # how long each kind of run takes uninterrupted: the sweep ends before its end
    cold = timed_up("cold")
    replace = timed_up("replace")
    first = max(0.12, 1.5 * sorted(started() for _ in range(3))[1])
    runs = 24
    codes: list[int] = []
    for n in range(runs):
        # alternately an up replacing every container (a stop starts first) and a cold up
        if n % 2:
            subprocess.run([*base, "down"], capture_output=True, timeout=60,
                           env={**os.environ, "GEN": "x"})
        length = cold if n % 2 else replace
        delay = first + max(length * 0.8 - first, 0.1) * (n // 2) / (runs // 2 - 1)
        process = subprocess.Popen([*base, "up", "-d"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True,
                                   env={**os.environ, "GEN": str(n)},
                                   preexec_fn=sigint_as_in_a_terminal)
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        try:
            _, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail(f"`up` interrupted after {delay:.3f} s did not end")
        assert process.returncode in (130, 0), (delay, stderr)
        assert "Traceback" not in stderr, (delay, stderr)
        if process.returncode == 130:
            assert "interrupted" in stderr, (delay, stderr)
        codes.append(process.returncode)
    # the signal came before the end in most runs: the sweep tested interruptions, not exits
    assert codes.count(130) >= runs // 2, (codes, first, cold, replace)
    subprocess.run([*base, "unlock", "--force"], capture_output=True, timeout=60)
    done = subprocess.run([*base, "up", "-d"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "GEN": "final"})
    assert done.returncode == 0, done.stderr
    again = subprocess.run([*base, "plan", "--exit-code"], capture_output=True, text=True,
                           timeout=60, env={**os.environ, "GEN": "final"})
    assert again.returncode == 0, again.stdout
