"""Where a short stackup command spends its time: a start-up profile, in fresh processes.

    python bench/profile_start.py [--runs 7] [--cwd DIR] -- -p P up -d
    python bench/profile_start.py --imports 15 -- -p P ps

Each run starts ``.venv/bin/python`` anew and times, inside it, the phases of the command
(importing the CLI, the command's module, loading the stack files, connecting, the lock,
observing, planning, recording the revision), the engine requests it sends (through the SDK's
``requests`` session; importing it first moves its cost out of "connect"),
and the whole process from the outside. A machine shared with other work is noisy, so every
figure is the minimum over the runs (CPU time is less disturbed than wall time). With
``--imports N`` it also runs ``python -X importtime`` and lists the N modules whose own import
costs most (minimum over the runs), and the imported-module count. docs/benchmarks.md quotes it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"

CHILD = r'''
import atexit, json, sys, time
P0, W0 = time.process_time(), time.perf_counter()
cpu, wall, calls = {}, {}, []

def add(label, c, w):
    cpu[label] = cpu.get(label, 0.0) + c
    wall[label] = wall.get(label, 0.0) + w

def wrap(owner, attr, label):
    func = getattr(owner, attr)
    def timed(*args, **kwargs):
        c, w = time.process_time(), time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            add(label, time.process_time() - c, time.perf_counter() - w)
    setattr(owner, attr, timed)

from stackup.cli import main as M
add("import the CLI (click, model, errors)", time.process_time() - P0, time.perf_counter() - W0)
import requests  # the Docker SDK's HTTP session: every engine request goes through its send
send = requests.Session.send
def _send(self, request, **kwargs):
    w = time.perf_counter()
    try:
        return send(self, request, **kwargs)
    finally:
        calls.append((request.method, request.path_url.split("?")[0], time.perf_counter() - w))
requests.Session.send = _send
G = getattr(M, "Globals", None) or __import__("stackup.cli.context", fromlist=["G"]).Globals
wrap(G, "load", "load the stack files")
wrap(G, "engine", "connect (engine adapter imports)")
def then_wrap():
    import stackup.app.containers as A, stackup.app.locking as K, stackup.reconcile as R
    wrap(A, "observe", "observe")
    wrap(R, "plan_up", "plan (reconcile)")
    wrap(K.ProjectLock, "acquire", "project lock (take, give back)")
    wrap(K.ProjectLock, "release", "project lock (take, give back)")
    if "stackup.cli.revision_records" in sys.modules:
        wrap(sys.modules["stackup.cli.revision_records"], "record_revision", "record the revision")
Lazy = getattr(M, "LazyGroup", None) or getattr(M, "_LazyGroup", None)
if Lazy is not None:  # commands imported when used
    lookup = Lazy.get_command
    def get_command(self, ctx, name):
        c, w = time.process_time(), time.perf_counter()
        try:
            return lookup(self, ctx, name)
        finally:
            add("import the command's module", time.process_time() - c, time.perf_counter() - w)
            then_wrap()
    Lazy.get_command = get_command
else:  # an older stackup: every command module imported at start
    register = M._register
    def _register():
        c, w = time.process_time(), time.perf_counter()
        register()
        add("import every command module", time.process_time() - c, time.perf_counter() - w)
        then_wrap()
    M._register = _register

def report():
    add("whole process, inside", time.process_time() - P0, time.perf_counter() - W0)
    sys.stderr.write("PROFILE" + json.dumps({"cpu": cpu, "wall": wall, "calls": calls}) + "\n")
atexit.register(report)
M.main(sys.argv[1:])
'''


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # run from the bytecode cache, as installed
    return env


def phases(argv: list[str], cwd: str, runs: int) -> None:
    cpu: dict[str, float] = {}
    wall: dict[str, float] = {}
    outside: list[float] = []
    calls: list[tuple[str, str, float]] = []
    for _ in range(runs):
        began = time.perf_counter()
        done = subprocess.run([str(PYTHON), "-c", CHILD, *argv], cwd=cwd, env=_env(),
                              capture_output=True, text=True)
        outside.append(time.perf_counter() - began)
        found = [line for line in done.stderr.splitlines() if line.startswith("PROFILE")]
        if done.returncode != 0 or not found:
            sys.exit(f"the command failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
        data = json.loads(found[-1][len("PROFILE"):])
        for label, value in data["cpu"].items():
            cpu[label] = min(cpu.get(label, 1e9), value)
        for label, value in data["wall"].items():
            wall[label] = min(wall.get(label, 1e9), value)
        if not calls or sum(c[2] for c in data["calls"]) < sum(c[2] for c in calls):
            calls = [tuple(c) for c in data["calls"]]  # type: ignore[misc]
    print(f"stackup {' '.join(argv)}   (minimum of {runs} runs; load average "
          f"{os.getloadavg()[0]:.1f})")
    print(f"  {'phase':42} {'CPU ms':>8} {'wall ms':>8}")
    for label in cpu:
        print(f"  {label:42} {cpu[label] * 1000:8.1f} {wall[label] * 1000:8.1f}")
    print(f"  {'process, from spawn to exit':42} {'':>8} {min(outside) * 1000:8.1f}")
    print(f"  engine requests: {len(calls)}, {sum(c[2] for c in calls) * 1000:.1f} ms "
          f"(those of the run with the least time in them)")
    for method, path, seconds in calls:
        print(f"    {seconds * 1000:6.1f} ms  {method} {re.sub(r'^/v[0-9.]+', '', path)}")


def imports(argv: list[str], cwd: str, runs: int, top: int) -> None:
    own: dict[str, int] = {}
    count = 0
    code = "import sys; from stackup.cli.main import main; sys.argv[0] = 'stackup'; main()"
    for _ in range(runs):
        done = subprocess.run([str(PYTHON), "-X", "importtime", "-c", code, *argv], cwd=cwd,
                              env=_env(), capture_output=True, text=True)
        lines = re.findall(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", done.stderr)
        count = len(lines)
        for micros, module in lines:
            own[module] = min(own.get(module, 1 << 60), int(micros))
    print(f"  modules imported: {count}; their own import time adds up to "
          f"{sum(own.values()) / 1000:.1f} ms (minimum of {runs} runs, -X importtime)")
    for module in sorted(own, key=own.__getitem__, reverse=True)[:top]:
        print(f"    {own[module] / 1000:6.1f} ms  {module}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--cwd", default=".", help="where the stack file is")
    parser.add_argument("--imports", type=int, default=0, metavar="N",
                        help="also list the N costliest modules to import")
    parser.add_argument("--source", metavar="DIR",
                        help="profile the stackup package in DIR instead (PYTHONPATH), e.g. an "
                             "older commit from `git archive`")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- stackup arguments")
    args = parser.parse_args()
    argv = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.source:
        os.environ["PYTHONPATH"] = os.path.abspath(args.source)
    phases(argv, args.cwd, args.runs)
    if args.imports:
        imports(argv, args.cwd, args.runs, args.imports)


if __name__ == "__main__":
    main()
