"""`stackup agent` (issue 22): push → converged, idle cost with 20 stacks, memory over 1,000 syncs.

    .venv/bin/python bench/agent_bench.py [--runs N] [--idle SECONDS] [--syncs N]
                                          [--only push|idle|memory]

* push → converged: one stack of one busybox service (a bare git repository on local disk as
  the remote); each run commits a changed environment variable and measures the time until
  the agent's API says ``synced`` at that commit: once woken by a signed webhook right after
  the push, once by its own poll (``interval: 5s``; the push lands at a random point of the
  interval, so about half an interval is waiting).
* idle: 20 stacks (one service each, ``interval: 60s``) converged, then the agent's CPU time
  and resident memory over ``--idle`` seconds (from /proc).
* memory: one stack polled back to back (``interval: 0.01s``: each poll asks the remote for
  the head and compares the engine with the files); resident memory after 100 syncs and after
  ``--syncs``.

Every project is removed afterwards (`down -v`, revision records included).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.integration.test_agent import (  # noqa: E402
    HOOK_SECRET, AgentProcess, Repo, service, stack_file)

STACKUP = str(Path(sys.executable).parent / "stackup")


def rss_and_cpu(pid: int) -> tuple[int, float]:
    """(resident KiB, CPU seconds) of a process."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(next(line.split()[1] for line in status.splitlines()
                   if line.startswith("VmRSS:")))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    import os

    ticks = os.sysconf("SC_CLK_TCK")
    return rss, (int(fields[11]) + int(fields[12])) / ticks


def down(*projects: str) -> None:
    for project in projects:
        subprocess.run([STACKUP, "-p", project, "down", "-v"], capture_output=True, timeout=120)


def push_to_converged(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repo = Repo(root)
        name = f"bench-{uuid.uuid4().hex[:8]}"
        repo.commit("v0", {"compose.yaml": stack_file(service("web", "0"))})
        agent = AgentProcess(root, f"""
            listen: 127.0.0.1:PORT
            webhook_secret_env: T_HOOK_SECRET
            stacks:
              - name: {name}
                repo: {repo.url}
                interval: 5s
        """)
        agent.start()
        try:
            agent.wait_for(name, lambda s: s["state"] == "synced")
            times: dict[str, list[float]] = {"webhook": [], "poll": []}
            version = 0
            for _ in range(runs):
                for how in ("webhook", "poll"):
                    if how == "poll":  # a push lands at any point of the poll interval
                        time.sleep(random.uniform(0, 5))
                    version += 1
                    commit = repo.commit(f"v{version}", {"compose.yaml": stack_file(
                        service("web", str(version)))})
                    started = time.monotonic()
                    if how == "webhook":
                        body = json.dumps({"ref": "refs/heads/main"}).encode()
                        sign = hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
                        httpx.post(f"{agent.base}/hooks", content=body, timeout=10,
                                   headers={"X-Hub-Signature-256": f"sha256={sign}"})
                    agent.at(name, commit, "synced", timeout=60)
                    times[how].append(time.monotonic() - started)
                    print(f"{how}: {times[how][-1]:.2f} s", flush=True)
            for how, values in times.items():
                print(f"push → converged by {how}: median {statistics.median(values):.2f} s, "
                      f"min {min(values):.2f} s, max {max(values):.2f} s ({len(values)} runs)")
        finally:
            agent.stop()
            down(name)


def idle(seconds: float, count: int = 20) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        names, entries = [], []
        for i in range(count):
            folder = root / f"r{i}"
            folder.mkdir()
            repo = Repo(folder)
            repo.commit("v1", {"compose.yaml": stack_file(service("web", "1"))})
            name = f"bench-{uuid.uuid4().hex[:8]}"
            names.append(name)
            entries.append(f"  - {{name: {name}, repo: '{repo.url}', interval: 60s}}")
        agent = AgentProcess(root, "listen: 127.0.0.1:PORT\nstacks:\n" + "\n".join(entries)
                             + "\n")
        agent.start()
        try:
            for name in names:
                agent.wait_for(name, lambda s: s["state"] == "synced", timeout=300)
            assert agent.process is not None
            pid = agent.process.pid
            rss0, cpu0 = rss_and_cpu(pid)
            time.sleep(seconds)
            rss1, cpu1 = rss_and_cpu(pid)
            print(f"idle, {count} stacks (interval 60s): CPU {100 * (cpu1 - cpu0) / seconds:.2f}% "
                  f"of one core over {seconds:.0f} s; resident memory {rss0 / 1024:.1f} MiB → "
                  f"{rss1 / 1024:.1f} MiB")
        finally:
            agent.stop()
            down(*names)


def memory(syncs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repo = Repo(root)
        repo.commit("v1", {"compose.yaml": stack_file(service("web", "1"))})
        name = f"bench-{uuid.uuid4().hex[:8]}"
        agent = AgentProcess(root, f"""
            listen: 127.0.0.1:PORT
            stacks:
              - name: {name}
                repo: {repo.url}
                interval: 0.01s
        """)
        agent.start()
        try:
            assert agent.process is not None
            pid = agent.process.pid
            marks: list[tuple[int, int]] = []
            started = time.monotonic()
            for target in (100, syncs):
                while True:
                    text = httpx.get(agent.base + "/metrics", timeout=10).text
                    done = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                               if line.startswith("stackup_agent_syncs_total{"))
                    if done >= target:
                        break
                    time.sleep(0.5)
                marks.append((int(done), rss_and_cpu(pid)[0]))
            took = time.monotonic() - started
            print(f"memory: {marks[0][1] / 1024:.1f} MiB after {marks[0][0]} syncs, "
                  f"{marks[1][1] / 1024:.1f} MiB after {marks[1][0]} syncs "
                  f"({took / marks[1][0] * 1000:.0f} ms a sync)")
        finally:
            agent.stop()
            down(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=float, default=60.0)
    parser.add_argument("--syncs", type=int, default=1000)
    parser.add_argument("--only", choices=["push", "idle", "memory"],
                        help="Run one part only.")
    args = parser.parse_args()
    if args.only in (None, "push"):
        push_to_converged(args.runs)
    if args.only in (None, "idle"):
        idle(args.idle)
    if args.only in (None, "memory"):
        memory(args.syncs)


if __name__ == "__main__":
    main()
