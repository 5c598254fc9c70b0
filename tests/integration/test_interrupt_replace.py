"""`up -d --force-recreate` of three services interrupted at random moments, on the real engine:
SIGINT, SIGTERM, Ctrl-C twice, and a reader that goes away (`2>&1 | head -1`). After the
command exits, each service has a running container, or the exit message names the one that
does not; a single signal always leaves every service running."""

from __future__ import annotations

import random
import re
import signal
import subprocess
import time
from pathlib import Path

import docker
import pytest

from tests.integration.helpers import LOOP, STACKUP, sigint_as_in_a_terminal, write

pytestmark = [pytest.mark.engine, pytest.mark.slow]

SERVICES = ("db", "api", "web")


def running(client: docker.DockerClient, project: str) -> dict[str, list[str]]:
    """Service → names of its running containers."""
    found = client.api.containers(filters={"label": f"io.stackup.project={project}"})
    out: dict[str, list[str]] = {name: [] for name in SERVICES}
    for c in found:
        out.setdefault(c["Labels"].get("io.stackup.service", ""), []).append(
            c["Names"][0].lstrip("/"))
    return out


def timed(command: list[str]) -> tuple[float, float]:
    """An uninterrupted run: seconds until its first operation started, and until it ended."""
    began = time.monotonic()
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    executing = None
    for line in process.stderr:
        if executing is None and line.split()[1:2] == ["..."]:  # "<time>  ...  create …"
            executing = time.monotonic() - began
    assert process.wait(timeout=120) == 0 and executing is not None
    return executing, time.monotonic() - began


def test_interrupted_force_recreate_leaves_services_running_or_names_them(
        tmp_path: Path, project_name: str, client: docker.DockerClient) -> None:
    # db and api stop at once; web ignores SIGTERM, so its stop takes its grace period: a
    # window in which a replacement has begun and the others may not have
    write(tmp_path, f"""
        services:
          db:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
          api:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            depends_on: [db]
          web:
            image: busybox:local
            command: ["sh", "-c", "while :; do sleep 0.2; done"]
            stop_grace_period: 1s
            depends_on: [api]
    """)
    base = [STACKUP, "-p", project_name, "--progress", "plain",
            "-f", str(tmp_path / "compose.yaml")]
    up = [*base, "up", "-d", "--force-recreate"]
    first = subprocess.run(up, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    executing, ended = timed(up)  # when the plan starts running, when the command ends
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    # (signals sent, a tenth of a second apart): SIGINT, SIGTERM, and Ctrl-C twice (abandon)
    trials = [(signal.SIGINT,), (signal.SIGTERM,), (signal.SIGINT,), (signal.SIGTERM,),
              (signal.SIGINT, signal.SIGINT), (signal.SIGINT,), (signal.SIGINT, signal.SIGINT)]
    interrupted = 0
    for sent in trials:
        # from just before the first operation to near the end: the replacements run then
        delay = rng.uniform(max(executing - 0.3, 0.2), executing + 0.8 * (ended - executing))
        process = subprocess.Popen(up, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, preexec_fn=sigint_as_in_a_terminal)
        time.sleep(delay)
        for number, sig in enumerate(sent):
            if number:
                time.sleep(0.1)
            process.send_signal(sig)
        try:
            _, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail(f"seed {seed}: {sent} after {delay:.2f} s: `up` did not end")
        where = f"seed {seed}, {[s.name for s in sent]} after {delay:.2f} s:\n{stderr}"
        # -15: SIGTERM before or after the plan ran (Python's default: nothing was running)
        assert process.returncode in (0, 130, 143, -15), where
        assert "Traceback" not in stderr, where
        if process.returncode in (130, 143):
            interrupted += 1
            assert "interrupted" in stderr, where
        left = re.search(r"operations done, (\d+) not started", stderr)
        if left and int(left.group(1)):  # the message says how to converge
            assert f"Run `stackup -p {project_name} --progress plain -f " in stderr, where
            assert "up -d --force-recreate` to converge." in stderr, where
        now = running(client, project_name)
        for service in SERVICES:
            expected = f"{project_name}-{service}-1"
            if now[service] != [expected]:
                assert len(sent) == 2, f"{service} not running after one signal; {where}"
                assert f"service {service}: " in stderr, f"{service} not named; {where}"
        if len(sent) == 2:  # converge again before the next trial
            subprocess.run([*base, "up", "-d"], capture_output=True, timeout=120, check=True)
    assert interrupted >= len(trials) // 2, f"seed {seed}: most signals came too late"

    # the reader goes away after the first line: the run goes on, and ends as uninterrupted
    process = subprocess.Popen(up, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    process.stdout.readline()
    process.stdout.close()
    assert process.wait(timeout=60) == 0
    assert running(client, project_name) == {
        service: [f"{project_name}-{service}-1"] for service in SERVICES}
    plan = subprocess.run([*base, "plan", "--exit-code"], capture_output=True, text=True,
                          timeout=60)
    assert plan.returncode == 0, plan.stdout
