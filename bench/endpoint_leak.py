"""Does `down` leave the project network unremovable ("has active endpoints")?

    python bench/endpoint_leak.py [--runs 5] [--n 50] [--shape wide] [--tools stackup,compose]
                                  [--docker-host unix:///run/stk-fault.sock]

Engine 20.10 sometimes loses count of a network's endpoints when many containers attached to it
are stopped and removed at once: the container is gone, yet removing the network fails with
"has active endpoints", and only a dockerd restart clears it. This script runs the benchmark
cycle that showed it, N times per tool (the tools take turns, run by run), and counts the runs
whose network survived `down`:

    up -d (N services) → up -d after every service changed (recreate all) → down -v

Each run uses a fresh project name. A run counts as leaked when a network labelled with the
project (or named ``<project>_default``) is still there after `down -v`, whatever `down`'s exit
code said. Leaked networks cannot be removed without a dockerd restart, so run this against an
engine of your own (``--docker-host``; see docs/benchmarks.md for the command), never a shared
one, and give that dockerd a bridge of its own (``--bridge NAME``): one started with
``--bridge none`` deletes the host's ``docker0``, the shared engine's default bridge.
``--restart-cmd`` (a shell command) is run after the runs to clear what leaked. ``--kv-db``
reads the endpoint count the engine keeps after each phase (same machine only).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
STACKUP = ROOT / ".venv" / "bin" / "stackup"
sys.path.insert(0, str(BENCH))
import stacks  # after the path insert


def _command(tool: str, project: str, compose_file: Path, *args: str) -> list[str]:
    if tool == "stackup":
        return [str(STACKUP), "-p", project, "-f", str(compose_file), "--progress", "quiet",
                *args]
    return ["docker", "compose", "-p", project, "-f", str(compose_file), "--progress", "quiet",
            *args]


def _run(cmd: list[str], env: dict[str, str]) -> tuple[int, float, str]:
    start = time.monotonic()
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, timeout=600)
    return done.returncode, time.monotonic() - start, (done.stdout + done.stderr).strip()


def _networks(project: str, env: dict[str, str]) -> list[str]:
    """Names of the networks left for ``project`` (by label, and by the default name)."""
    found: set[str] = set()
    for filt in (f"label=io.stackup.project={project}",
                 f"label=com.docker.compose.project={project}", f"name={project}_default"):
        out = subprocess.run(["docker", "network", "ls", "-q", "--filter", filt],
                             capture_output=True, text=True, env=env, check=True).stdout
        found.update(out.split())
    return sorted(found)


def _counts(kv_db: str, network_ids: list[str]) -> dict[str, int]:
    """The endpoint count the engine keeps for each network (diagnostics, engine on this
    machine only): read from a copy of its libnetwork store (``<data-root>/network/files/
    local-kv.db``, a bolt file; the JSON value follows its key). Stale copies in free pages
    may linger: the largest index wins."""
    data = Path(kv_db).read_bytes()
    found: dict[str, tuple[int, int]] = {}
    for match in re.finditer(rb"endpoint_count/([0-9a-f]{64})/", data):
        network_id = match.group(1).decode()
        value = data[match.end():match.end() + 64]
        count = re.search(rb'\{"Count":(\d+)\}', value)
        if count is None or value[:8] == b"docker/n":
            continue
        index = int.from_bytes(value[:8], "little")
        if network_id not in found or index > found[network_id][0]:
            found[network_id] = (index, int(count.group(1)))
    return {nid[:12]: found[nid][1] for nid in found
            if any(nid.startswith(short) for short in network_ids)}


def cycle(tool: str, n: int, shape: str, env: dict[str, str], folder: Path,
          kv_db: str = "") -> dict[str, object]:
    """One up → recreate all → down -v cycle; what it left and how long each phase took."""
    project = f"leak{secrets.token_hex(3)}-{tool}"
    compose_file = stacks.write(folder, n, shape, "none")
    times: dict[str, float] = {}
    for phase, change, args in (("up", "none", ("up", "-d")), ("recreate", "all", ("up", "-d")),
                                ("down", None, ("down", "-v"))):
        if change is not None:
            stacks.write(folder, n, shape, change)
        code, seconds, output = _run(_command(tool, project, compose_file, *args), env)
        times[phase] = seconds
        if kv_db:  # only networks still there: a removed one's key may linger in free pages
            left = _networks(project, env)
            times[f"count_after_{phase}"] = sum(_counts(kv_db, left).values()) if left else 0
        if code != 0 and phase != "down":
            return {"project": project, "failed": f"{phase} exited {code}: {output[-400:]}",
                    "times": times, "leaked": _networks(project, env)}
        if phase == "down":
            times["down_exit"] = code
            down_output = output
    leaked = _networks(project, env)
    return {"project": project, "times": times, "leaked": leaked,
            "down_output": down_output[-300:] if leaked else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--shape", choices=stacks.SHAPES, default="wide")
    parser.add_argument("--tools", default="stackup")
    parser.add_argument("--docker-host", default=os.environ.get("DOCKER_HOST", ""))
    parser.add_argument("--kv-db", default="",
                        help="the engine's network/files/local-kv.db (same machine): print the "
                             "endpoint count it keeps after each phase")
    parser.add_argument("--restart-cmd", default="",
                        help="shell command run at the end when a network leaked")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.docker_host:
        env["DOCKER_HOST"] = args.docker_host
    tools = args.tools.split(",")
    totals = {tool: 0 for tool in tools}
    phases: dict[str, dict[str, list[float]]] = {tool: {} for tool in tools}
    with tempfile.TemporaryDirectory(prefix="endpoint-leak-") as tmp:
        for i in range(args.runs):
            for tool in tools:  # the tools take turns, so that both see the same load
                result = cycle(tool, args.n, args.shape, env, Path(tmp) / tool, args.kv_db)
                times = result["times"]
                assert isinstance(times, dict)
                shown = " ".join(f"{k}={v:.1f}s" if isinstance(v, float) else f"{k}={v}"
                                 for k, v in times.items())
                for phase in ("up", "recreate", "down"):
                    if isinstance(times.get(phase), float):
                        phases[tool].setdefault(phase, []).append(times[phase])
                leaked = result["leaked"]
                assert isinstance(leaked, list)
                totals[tool] += bool(leaked)
                print(f"{tool} run {i + 1}/{args.runs}: {shown} "
                      f"{'LEAKED ' + ','.join(leaked) if leaked else 'clean'}"
                      f"{' ' + str(result['failed']) if 'failed' in result else ''}", flush=True)
                if leaked and result.get("down_output"):
                    print(f"    down said: {result['down_output']}", flush=True)
    for tool, count in totals.items():
        medians = ", ".join(f"{phase} {statistics.median(values):.1f}s"
                            for phase, values in phases[tool].items())
        print(f"{tool}: {count} of {args.runs} runs left the network unremovable "
              f"(medians: {medians})")
    if any(totals.values()) and args.restart_cmd:
        subprocess.run(args.restart_cmd, shell=True, check=False)


if __name__ == "__main__":
    main()
