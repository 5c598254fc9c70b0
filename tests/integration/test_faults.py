"""Fault trials on the real engine: kill -9 of `stackup up -d` and `stackup down` at random
moments, then a rerun of the same command; and the engine restarted in the middle of `up`.

After every trial the rerun must exit 0 and leave exactly the desired containers
(``<project>-<service>-<n>``, running, with the trial's environment), none under a temporary name
(``<id12>_<name>`` of a replacement, ``<name>-next`` of a start-first rollout), the data written
into a named volume before the trials, and nothing left to do (``stackup plan --exit-code`` exits
0). Three groups of trials, one project each, reused across its trials:

* ``down`` killed, rerun (no container, no network, the volume kept), then the cold ``up`` that
  follows killed and rerun: a trial of each per round;
* ``up`` recreating every service (an environment value changes each trial);
* ``up`` scaling three services 1 → 3, then back to 1, and so on.

Each kill comes after a delay drawn from ``random.Random(seed)`` in the window where the
command is at work: after the time a ``plan`` takes (start-up, load, observe: nothing changed
yet), before the time an uninterrupted run of the same command took (measured first; a run that
ends before its kill narrows the window to its own time). The seed is printed in every assertion
message with the trial, the fraction of the window and the delay; rerun with
``STACKUP_FAULT_SEED=<seed>`` (and ``STACKUP_FAULT_TRIALS=<n>``, default 10) to draw the same
fractions again (the engine's timing still varies).

The engine restart uses a second dockerd of the test's own (``tests/integration/own_engine.py``:
its own socket, data and exec root and network namespace), never the shared engine other tests
run against: it is skipped where dockerd cannot be started.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest

from stackup.adapters.docker import DockerEngine
from tests.integration.helpers import LOOP, STACKUP
from tests.integration.own_engine import OwnEngine, own_engine_for

pytestmark = [pytest.mark.slow, pytest.mark.engine]

SEED = int(os.environ.get("STACKUP_FAULT_SEED") or random.SystemRandom().randrange(2**32))
TRIALS = int(os.environ.get("STACKUP_FAULT_TRIALS") or 10)
CANARY = "written-before-the-trials"
SERVICES = 8
SCALED = ("s4", "s5", "s6")  # the services the scaling trials scale 1 → 3 and back
TEMPORARY = re.compile(r"^[0-9a-f]{12}_|-next$")


def _stack(folder: Path) -> Path:
    """Eight services: a depends_on chain s0 → s3 (s0 holds the named volume), three scalable
    services, and one rolled out start-first (its replacement runs as ``<name>-next`` first,
    healthy within a fraction of a second). Every service carries the trial's ``GEN``."""
    services = []
    for i in range(SERVICES):
        extra = ""
        if i == 0:
            extra += "\n    volumes: [\"data:/data\"]"
        if 1 <= i <= 3:
            extra += f"\n    depends_on: [s{i - 1}]"
        if f"s{i}" in SCALED:
            extra += "\n    deploy:\n      replicas: ${SCALE:-1}"
        if i == SERVICES - 1:
            extra += textwrap.indent(textwrap.dedent("""
                healthcheck: {test: ["CMD", "true"], interval: 200ms, timeout: 2s, retries: 3}
                deploy: {update_config: {order: start-first}}"""), "    ")
        services.append(f"""
  s{i}:
    image: busybox:local
    pull_policy: never
    command: ["sh", "-c", "{LOOP}"]
    stop_grace_period: 2s
    environment: {{GEN: "${{GEN:-0}}"}}{extra}""")
    path = folder / "compose.yaml"
    path.write_text("services:" + "".join(services) + "\nvolumes:\n  data: {}\n")
    return path


@dataclass
class Trials:
    """One project on one engine, and the commands and checks of its trials."""

    folder: Path
    project: str
    client: docker.DockerClient
    env: dict[str, str] = field(default_factory=dict)  # DOCKER_HOST for the own engine
    scenario: str = ""

    def command(self, *args: str) -> list[str]:
        return [STACKUP, "-p", self.project, "--progress", "plain", "-f",
                str(self.folder / "compose.yaml"), *args]

    def environ(self, gen: int, scale: int) -> dict[str, str]:
        return {**os.environ, **self.env, "GEN": str(gen), "SCALE": str(scale),
                "STACKUP_LOCK_TIMEOUT": "60"}

    def run(self, *args: str, gen: int = 0, scale: int = 1, context: str = "",
            expect: int | None = 0) -> tuple[subprocess.CompletedProcess[str], float]:
        start = time.monotonic()
        done = subprocess.run(self.command(*args), check=False, capture_output=True, text=True,
                              timeout=240, env=self.environ(gen, scale))
        seconds = time.monotonic() - start
        if expect is not None and done.returncode != expect:
            raise AssertionError(
                f"{context or self.context()}: `stackup {' '.join(args)}` (GEN={gen} "
                f"SCALE={scale}) exited {done.returncode}, expected {expect}\n"
                f"stdout:\n{done.stdout[-2000:]}\nstderr:\n{done.stderr[-12000:]}")
        return done, seconds

    def killed(self, *args: str, delay: float, gen: int = 0,
               scale: int = 1) -> float | None:
        """Run the command and SIGKILL it after ``delay`` seconds: None when killed, else the
        seconds it took (it ended first)."""
        with tempfile.TemporaryFile() as out:
            start = time.monotonic()
            proc = subprocess.Popen(self.command(*args), stdout=out, stderr=out,
                                    env=self.environ(gen, scale), start_new_session=True)
            try:
                proc.wait(timeout=delay)
                return time.monotonic() - start
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return None

    def context(self, trial: int | None = None, delay: float | None = None) -> str:
        where = f"seed={SEED} scenario={self.scenario}"
        if trial is not None:
            where += f" trial={trial}"
        if delay is not None:
            where += f" delay={delay:.2f}s"
        return where + f" (rerun with STACKUP_FAULT_SEED={SEED})"

    # --- what the engine has --------------------------------------------------------------
    def containers(self) -> list[dict]:
        label = {"label": f"io.stackup.project={self.project}"}
        return [self.client.api.inspect_container(c["Id"])
                for c in self.client.api.containers(all=True, filters=label)]

    def expected(self, scale: int) -> set[str]:
        return {f"{self.project}-s{i}-{n}" for i in range(SERVICES)
                for n in range(1, (scale if f"s{i}" in SCALED else 1) + 1)}

    def check(self, context: str, *, gen: int, scale: int) -> None:
        """Exactly the desired containers, running, with GEN; the canary; nothing to do."""
        found = self.containers()
        names = sorted(c["Name"].lstrip("/") for c in found)
        leftovers = [n for n in names if TEMPORARY.search(n)]
        assert not leftovers, f"{context}: containers left under a temporary name: {leftovers}"
        assert names == sorted(self.expected(scale)), \
            f"{context}: containers {names}, expected {sorted(self.expected(scale))}"
        for c in found:
            name = c["Name"].lstrip("/")
            assert c["State"]["Status"] == "running", \
                f"{context}: {name} is {c['State']['Status']}"
            env = dict(e.split("=", 1) for e in c["Config"]["Env"] or [])
            assert env.get("GEN") == str(gen), \
                f"{context}: {name} has GEN={env.get('GEN')}, expected {gen}"
        self.check_canary(context)
        done, _ = self.run("plan", "--exit-code", gen=gen, scale=scale, context=context,
                           expect=None)
        assert done.returncode == 0, (f"{context}: `plan --exit-code` exited {done.returncode} "
                                      f"after the rerun:\n{done.stdout}\n{done.stderr}")

    def check_canary(self, context: str) -> None:
        api = self.client.api
        exec_id = api.exec_create(f"{self.project}-s0-1", ["cat", "/data/canary"])["Id"]
        output = api.exec_start(exec_id).decode(errors="replace").strip()
        assert output == CANARY, f"{context}: the named volume lost its data: {output!r}"


def _window(trials: Trials, full: float, gen: int = 0, scale: int = 1) -> tuple[float, float]:
    """Where a command is at work: after the time a plan takes (start-up, load, observe),
    before ``full``, the time an uninterrupted run of it took."""
    _, start_up = trials.run("plan", gen=gen, scale=scale)
    low = min(start_up, full * 0.5)
    return low, max(full, low + 0.2)


def _setup(trials: Trials, scenario: str) -> float:
    """Bring the stack up, write the canary; the duration of that cold ``up``."""
    trials.scenario = scenario
    _, seconds = trials.run("up", "-d")
    api = trials.client.api
    exec_id = api.exec_create(f"{trials.project}-s0-1",
                              ["sh", "-c", f"echo {CANARY} > /data/canary"])["Id"]
    api.exec_start(exec_id)
    trials.check_canary(trials.context())
    return seconds


@pytest.fixture()
def trials(tmp_path: Path, project_name: str, client: docker.DockerClient) -> Trials:
    _stack(tmp_path)
    return Trials(tmp_path, project_name, client)


Window = list[float]  # [low, high]: where the delays are drawn


@dataclass
class Kills:
    """The kills of one kind of trial: a window narrowed by the runs that ended first."""

    name: str
    window: Window
    rng: random.Random
    at: list[str] = field(default_factory=list)  # the delays of the runs killed at work
    ended: int = 0  # runs that ended before their kill

    def draw(self, trials: Trials, number: int) -> tuple[float, str]:
        fraction = self.rng.random()
        delay = self.window[0] + fraction * (self.window[1] - self.window[0])
        return delay, (f"{trials.context(number, delay)} kill={self.name} "
                       f"fraction={fraction:.3f}")

    def record(self, delay: float, took: float | None) -> None:
        if took is None:
            self.at.append(f"{delay:.2f}")
        else:
            self.ended += 1
            self.window[1] = max(self.window[0] + 0.2, min(self.window[1], took))

    def check(self, trials: Trials, seconds: float) -> None:
        """A line per kind; at least half of its runs must have been killed at work."""
        runs = len(self.at) + self.ended
        summary = (f"{trials.context()} kill={self.name}: {len(self.at)}/{runs} runs killed "
                   f"at work (at {', '.join(self.at)} s; trials took {seconds:.0f} s)")
        print(summary)
        assert len(self.at) >= runs // 2, \
            f"{summary}: most runs ended before their kill, the trials did not test much"


def _kills(trials: Trials, name: str, window: tuple[float, float]) -> Kills:
    return Kills(name, list(window), random.Random(f"{SEED}:{trials.scenario}:{name}"))


def test_kill_down_then_cold_up_and_rerun_each(trials: Trials) -> None:
    _setup(trials, "down-cold-up")
    api = trials.client.api
    label = {"label": f"io.stackup.project={trials.project}"}
    _, down_full = trials.run("down")
    _, up_full = trials.run("up", "-d")
    downs = _kills(trials, "down", _window(trials, down_full))
    ups = _kills(trials, "cold-up", _window(trials, up_full))
    start = time.monotonic()
    for number in range(1, TRIALS + 1):
        delay, context = downs.draw(trials, number)
        downs.record(delay, trials.killed("down", delay=delay))
        trials.run("down", context=context)
        left = [c["Names"][0] for c in api.containers(all=True, filters=label)]
        assert not left, f"{context}: containers left after the rerun of down: {left}"
        networks = [n["Name"] for n in api.networks(filters=label)]
        assert not networks, f"{context}: networks left after the rerun of down: {networks}"
        volumes = [v["Name"] for v in (api.volumes(filters=label) or {}).get("Volumes") or []]
        assert volumes == [f"{trials.project}_data"], \
            f"{context}: `down` without -v must keep the named volume: {volumes}"
        delay, context = ups.draw(trials, number)  # a cold up: no container, no network
        ups.record(delay, trials.killed("up", "-d", delay=delay))
        trials.run("up", "-d", context=context)
        trials.check(context, gen=0, scale=1)
    seconds = time.monotonic() - start
    downs.check(trials, seconds)
    ups.check(trials, seconds)


def test_kill_up_recreating_every_service_then_rerun(trials: Trials) -> None:
    _setup(trials, "recreate-all")
    _, full = trials.run("up", "-d", gen=1)  # a whole recreate, uninterrupted
    kills = _kills(trials, "recreate", _window(trials, full, gen=1))
    start = time.monotonic()
    for number in range(1, TRIALS + 1):
        gen = number + 1  # every service's environment changes
        delay, context = kills.draw(trials, number)
        kills.record(delay, trials.killed("up", "-d", delay=delay, gen=gen))
        trials.run("up", "-d", gen=gen, context=context)
        trials.check(context, gen=gen, scale=1)
    kills.check(trials, time.monotonic() - start)


def test_kill_up_while_scaling_then_rerun(trials: Trials) -> None:
    _setup(trials, "scale")
    _, up3 = trials.run("up", "-d", scale=3)
    _, down1 = trials.run("up", "-d", scale=1)
    low, _ = _window(trials, min(up3, down1))
    kills = {3: _kills(trials, "scale-1-to-3", (low, max(low + 0.2, up3))),
             1: _kills(trials, "scale-3-to-1", (low, max(low + 0.2, down1)))}
    start = time.monotonic()
    for number in range(1, TRIALS + 1):  # 1 → 3, then back to 1, and so on
        scale = 3 if number % 2 else 1
        delay, context = kills[scale].draw(trials, number)
        kills[scale].record(delay, trials.killed("up", "-d", delay=delay, scale=scale))
        trials.run("up", "-d", scale=scale, context=context)
        trials.check(context, gen=0, scale=scale)
    for each in kills.values():
        each.check(trials, time.monotonic() - start)


# --- the engine restarted in the middle of `up` -------------------------------------------


@pytest.fixture()
def own_engine(docker_engine: DockerEngine, client: docker.DockerClient) -> Iterator[OwnEngine]:
    yield from own_engine_for(client)


def test_engine_restarted_in_the_middle_of_up(own_engine: OwnEngine, tmp_path: Path,
                                              project_name: str) -> None:
    """dockerd stopped (as a restart does) while `up` recreates every service: `up` ends with
    one error naming the engine, no traceback; once the engine is back, a rerun converges."""
    _stack(tmp_path)
    own = docker.DockerClient(base_url=own_engine.host, timeout=120)
    trials = Trials(tmp_path, project_name, own, env={"DOCKER_HOST": own_engine.host},
                    scenario="engine-restart")
    rng = random.Random(f"{SEED}:engine-restart")
    try:
        _setup(trials, "engine-restart")
        _, full = trials.run("up", "-d", gen=1)
        low, high = _window(trials, full, gen=1)
        for gen in range(2, 6):  # again, sooner, if the run ended before the engine stopped
            fraction = rng.random()
            delay = low + fraction * (high - low) / (gen - 1)
            context = trials.context(gen - 1, delay) + f" fraction={fraction:.3f}"
            with tempfile.TemporaryFile() as out:
                proc = subprocess.Popen(trials.command("up", "-d"), stdout=out, stderr=out,
                                        env=trials.environ(gen, 1))
                try:
                    proc.wait(timeout=delay)
                    continue  # it ended first: again, with a new GEN, sooner
                except subprocess.TimeoutExpired:
                    pass
                own_engine.stop()
                code = proc.wait(timeout=120)
                out.seek(0)
                output = out.read().decode(errors="replace")
            own_engine.start()
            # gone before `up` reached it (start-up is quick): later, not sooner. A run that
            # reached it shows operation lines (" ...  create ..."), whatever its error says
            # (through the SDK an engine that goes mid-run is also "cannot reach ...")
            reached = any(line.split()[1:2] in (["..."], ["done"], ["failed"])
                          for line in output.splitlines())  # "<time>  done  create …"
            if code != 0 and "cannot reach the Docker engine" in output and not reached:
                low = delay
                continue
            if code != 0:
                break  # else it ended as the engine went: again
        else:
            pytest.fail(f"{trials.context()}: every `up` ended before the engine stopped, or "
                        "started after it went")
        assert code == 1, f"{context}: `up` exited {code} when the engine stopped:\n{output}"
        assert "Traceback" not in output, f"{context}: a traceback:\n{output}"
        summary = output[output.find("up failed:"):]
        assert "the engine stopped answering" in summary and own_engine.host in summary, \
            f"{context}: the error does not say the engine ({own_engine.host}) went:\n{output}"
        print(f"{context}: `up` said:\n{summary[:600]}")
        trials.run("up", "-d", gen=gen, context=context)
        trials.check(context, gen=gen, scale=1)
    finally:
        own.close()
