"""Benchmark harness: stackup against Docker Compose v2, docker-compose v1, an earlier stackup
and the engine floor, on one machine.

    python bench/harness.py [--before PATH] [--n 50] [--reps 2] [--shapes wide,layered] [--quick]

Every engine phase is the wall time of one whole command, process start included (a Python
tool pays for its interpreter and imports; that is part of what users wait for), and its peak
memory:

* stackup: ``.venv/bin/stackup -p P -f FILE --progress quiet up -d`` / ``down -v``
* before: the same with the stackup of ``--before PATH`` (the code before a change)
* compose: ``docker compose -p P -f FILE --progress quiet up -d`` / ``down -v`` (when
  ``docker compose version`` answers; ``bench/compose_v2.sh`` installs it)
* compose-v1: ``docker-compose --ansi never -p P -f FILE up -d`` / ``down -v`` (1.29, Python)
* floor: ``.venv/bin/python bench/floor.py up|recreate|down`` (SDK, 16 threads, no orchestration)

Phases per tool, shape and repetition: cold ``up -d``; no-op ``up -d``, ``plan`` and ``ps`` on
the converged stack; ``up -d`` after one service's environment changed; ``up -d`` after every
service changed; ``down -v`` (which also separates the cold ups of successive repetitions).
Within a phase every tool runs in turn, run by run, the order rotating. Medians are reported.
A 200-service wide stack repeats the reads; a 1,000-service wide stack, one tool at a time,
gives ``plan`` and one changed with peak memory. Engine-free phases (stackup only, plus
``docker compose config -q`` where it finishes): ``config -q`` on 1,000 and 5,000 services,
``plan_up`` on a converged 1,000-service state through the Python API, and Compose's
``config -q`` on layered 60/70 services under a timeout. Finally a 100-service layered stack is
brought up and down once.

Results: markdown tables on stdout, also written (with the machine, the targets of issue 17
part 8 marked met or not, and notes on failures) to docs/benchmarks.md or ``--out`` unless
``--no-write``. A tool run that fails is recorded as failed with the tail of its stderr; the
harness carries on. Every project gets a unique name and is removed at the end, also on Ctrl-C.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
VENV_PY = ROOT / ".venv" / "bin" / "python"
STACKUP = ROOT / ".venv" / "bin" / "stackup"

try:  # the harness needs the docker SDK (cleanup, checks); the project's venv has it
    import docker  # noqa: F401
except ImportError:
    if VENV_PY.exists() and Path(sys.executable).resolve() != VENV_PY.resolve():
        os.execv(str(VENV_PY), [str(VENV_PY), __file__, *sys.argv[1:]])
    raise

import argparse  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

sys.path.insert(0, str(BENCH))
import stacks  # noqa: E402

PHASES = ("cold up -d", "no-op up -d", "plan, converged", "ps", "up -d, one changed",
          "up -d, all changed", "down -v")
QUICK = ("no-op up -d", "plan, converged", "ps")  # fast read-mostly phases, run several times
IDLE_PHASES = ("cold up -d", *QUICK, "down -v")  # the big wide stack: start-up and reads
# the 1,000-service wide stack: what a converged plan and a small change cost, with memory
HUGE_PHASES = ("cold up -d", "plan, converged", "up -d, one changed", "down -v")
# every tool the harness knows, in the order of the table's columns; "before" is a second
# stackup install (--before), "compose-v1" the Python docker-compose 1.29
TOOLS = ("before", "stackup", "compose", "compose-v1", "floor")
RATIOS = ("before", "compose", "compose-v1", "floor")  # stackup/X columns, when X was run
RUN_TIMEOUT = 900.0  # seconds for one engine command
HUGE_SECONDS_PER_SERVICE = 3.0  # the huge stack's timeout per service (a busy engine is slow)
CONFIG_TIMEOUT = 20.0  # seconds for `docker compose config -q` on layered stacks
BIG_COMPOSE_TIMEOUT = 60.0


# --- one timed command ------------------------------------------------------------------------

@dataclass
class Run:
    seconds: float | None  # None when it did not finish
    ok: bool
    note: str = ""  # why it failed (stderr tail), or what was noticed
    max_rss_kib: int | None = None  # the largest resident set of any one of its processes


@dataclass
class Cell:
    runs: list[Run] = field(default_factory=list)
    skipped: str = ""  # why the cell was not measured

    @property
    def ok_times(self) -> list[float]:
        return [r.seconds for r in self.runs if r.ok and r.seconds is not None]

    @property
    def median(self) -> float | None:
        times = self.ok_times
        return statistics.median(times) if times and len(times) == len(self.runs) else None

    def text(self) -> str:
        if self.skipped:
            return self.skipped
        if not self.runs:
            return "—"
        failed = [r for r in self.runs if not r.ok]
        if failed:
            if all(r.note.startswith("timeout") for r in failed):
                return f"timeout (> {failed[0].note.split()[1]} s)"
            return f"failed ({len(failed)}/{len(self.runs)})"
        med = self.median
        if med is None:
            return "—"
        shown = f"{med:.3f} s" if med < 0.1 else f"{med:.2f} s"
        return shown if len(self.runs) > 1 else f"{shown} (1 run)"

    @property
    def peak_rss_mib(self) -> float | None:
        """The largest resident set seen in any run of the cell, in MiB."""
        seen = [r.max_rss_kib for r in self.runs if r.max_rss_kib is not None]
        return max(seen) / 1024 if seen else None


CHILD_ENV: dict[str, str] | None = None  # set by main(): the environment tools run in


def child_env(keep_bytecode_setting: bool) -> dict[str, str]:
    """The environment for timed commands: ours, except that Python may write and use its
    bytecode cache (PYTHONDONTWRITEBYTECODE would make every stackup run recompile its own
    modules, which no installed copy does)."""
    env = dict(os.environ)
    if not keep_bytecode_setting:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


COMPILE_STACKUP = ("import compileall, os, stackup; "
                   "compileall.compile_dir(os.path.dirname(stackup.__file__), quiet=1)")


def warm_up(tools: list[str], env: dict[str, str]) -> None:
    """Byte-compile both stackups and the bench helpers, and start each tool once (untimed)."""
    subprocess.run([str(VENV_PY), "-m", "compileall", "-q", str(ROOT / "stackup"), str(BENCH)],
                   env=env, capture_output=True, timeout=300)
    if "before" in tools:  # with the interpreter of its own install, wherever its sources are
        subprocess.run([str(Before.exe.parent / "python"), "-c", COMPILE_STACKUP],
                       env=env, capture_output=True, timeout=300)
    commands = {"stackup": [str(STACKUP), "--version"],
                "before": [str(Before.exe), "--version"],
                "compose": ["docker", "compose", "version"],
                "compose-v1": ["docker-compose", "version"],
                "floor": [str(VENV_PY), "-c", "import docker"]}
    for tool in tools:
        subprocess.run(commands[tool], env=env, capture_output=True, timeout=60)


LOADS: list[float] = []  # the 1-minute load average before each timed command


def _kill(proc: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            continue


# GNU time reports a command's peak memory. The harness cannot measure it itself: a child of
# the harness starts as a copy of the harness, and the kernel counts that copy in the child's
# peak, so every tool would seem to need at least the harness's own memory.
GNU_TIME = "/usr/bin/time" if Path("/usr/bin/time").exists() else None


def _max_rss(path: str) -> int | None:
    """The KiB GNU time wrote (its last line; a line before it may say the exit status)."""
    try:
        lines = Path(path).read_text().split()
        return int(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


def timed(argv: list[str], *, cwd: Path | str | None = None, timeout: float = RUN_TIMEOUT,
          env: dict[str, str] | None = None) -> Run:
    """Wall time of one command from spawn to exit, and its peak memory (the largest resident
    set of the command or of a process it waited for, through GNU time: for ``docker compose``
    the larger of the docker CLI and its compose plugin); stdout discarded, stderr kept for
    failures."""
    LOADS.append(os.getloadavg()[0])
    with tempfile.NamedTemporaryFile(prefix="bench-rss-") as rss_file:
        wrapped = [GNU_TIME, "-f", "%M", "-o", rss_file.name, *argv] if GNU_TIME else argv
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(wrapped, cwd=cwd, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    start_new_session=True,
                                    env=env if env is not None else CHILD_ENV)
        except OSError as error:
            return Run(None, False, f"cannot start {argv[0]}: {error}")
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            proc.communicate()
            return Run(None, False, f"timeout {timeout:g} s")
        except BaseException:
            _kill(proc)
            raise
        elapsed = time.perf_counter() - start
        rss = _max_rss(rss_file.name)
    if proc.returncode != 0:
        tail = " | ".join(err.decode("utf-8", "replace").strip().splitlines()[-4:])
        return Run(elapsed, False, f"exit {proc.returncode}: {tail[-400:]}", rss)
    return Run(elapsed, True, max_rss_kib=rss)


# --- the engine: checks and cleanup (never timed) ----------------------------------------------

def api() -> docker.APIClient:
    base = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    return docker.APIClient(base_url=base, version="auto", timeout=120)


OWNER_LABELS = ("io.stackup.project", "com.docker.compose.project", "bench.floor.project")


def project_containers(client: docker.APIClient, project: str) -> list[dict]:  # type: ignore[type-arg]
    """Containers of ``project`` whoever made them: by owner label or by name prefix."""
    found: dict[str, dict] = {}  # type: ignore[type-arg]
    for label in OWNER_LABELS:
        for c in client.containers(all=True, filters={"label": f"{label}={project}"}):
            found[c["Id"]] = c
    for c in client.containers(all=True, filters={"name": f"^/{project}[-_]"}):
        found[c["Id"]] = c
    return list(found.values())


def cleanup(project: str) -> None:
    """Remove everything of ``project`` straight through the engine (best effort). Containers
    go four at a time: one by one, a 1,000-container stack left by a timeout took longer to
    remove on a busy machine than the run itself."""

    def remove(container_id: str) -> None:
        try:
            client.remove_container(container_id, v=True, force=True)
        except docker.errors.APIError:
            pass

    try:
        client = api()
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(remove, [c["Id"] for c in project_containers(client, project)]))
        nets: dict[str, dict] = {}  # type: ignore[type-arg]
        for label in OWNER_LABELS:
            for n in client.networks(filters={"label": f"{label}={project}"}):
                nets[n["Id"]] = n
        for n in client.networks(names=[f"{project}_default"]):
            if n.get("Name") == f"{project}_default":
                nets[n["Id"]] = n
        for n in nets.values():
            try:
                client.remove_network(n["Id"])
            except docker.errors.APIError:
                pass
        for label in OWNER_LABELS:
            vols = (client.volumes(filters={"label": f"{label}={project}"}) or {}).get("Volumes")
            for v in vols or []:
                try:
                    client.remove_volume(v["Name"], force=True)
                except docker.errors.APIError:
                    pass
    except Exception as error:  # noqa: BLE001 - cleanup must not hide the results
        print(f"warning: cleanup of {project} failed: {error}", file=sys.stderr)


def running_state(project: str) -> dict[str, str]:
    """container name → id of the project's running containers."""
    client = api()
    return {c["Names"][0].lstrip("/"): c["Id"] for c in project_containers(client, project)
            if c.get("State") == "running"}


def generations(project: str, names: list[str]) -> dict[str, str]:
    client = api()
    out = {}
    for name in names:
        try:
            env = client.inspect_container(name)["Config"]["Env"] or []
        except docker.errors.NotFound:
            continue
        out[name] = next((e.split("=", 1)[1] for e in env if e.startswith("GEN=")), "")
    return out


# --- tools -------------------------------------------------------------------------------------

class Tool:
    name = ""
    # the converged-state commands: `plan` and `ps` (None: the tool has no such command)
    reads: dict[str, list[str]] = {}

    def __init__(self, project: str, folder: Path, n: int, shape: str) -> None:
        self.project, self.folder, self.n, self.shape = project, folder, n, shape
        self.file = folder / "compose.yaml"

    def container(self, service: str) -> str:
        return f"{self.project}-{service}-1"

    def up(self, change: str, phase: str) -> list[str] | None:
        raise NotImplementedError

    def down(self) -> list[str]:
        raise NotImplementedError

    def command(self, phase: str, change: str) -> list[str] | None:
        """The command of ``phase`` (None: not applicable to this tool)."""
        if phase == "down -v":
            return self.down()
        if phase == "plan, converged":
            return self.plan()
        if phase == "ps":
            return self.ps()
        return self.up(change, phase)

    def plan(self) -> list[str] | None:
        return None

    def ps(self) -> list[str] | None:
        return None


class Stackup(Tool):
    name = "stackup"
    exe = STACKUP

    def base(self) -> list[str]:
        return [str(self.exe), "-p", self.project, "-f", str(self.file), "--progress", "quiet"]

    def up(self, change: str, phase: str) -> list[str] | None:
        return [*self.base(), "up", "-d"]

    def down(self) -> list[str]:
        return [*self.base(), "down", "-v"]

    def plan(self) -> list[str] | None:
        return [*self.base(), "plan"]

    def ps(self) -> list[str] | None:
        return [*self.base(), "ps"]


class Compose(Tool):
    name = "compose"

    def base(self) -> list[str]:
        return ["docker", "compose", "-p", self.project, "-f", str(self.file),
                "--progress", "quiet"]

    def up(self, change: str, phase: str) -> list[str] | None:
        return [*self.base(), "up", "-d"]

    def down(self) -> list[str]:
        return [*self.base(), "down", "-v"]

    def plan(self) -> list[str] | None:
        # Compose has no `plan`: `--dry-run up -d` computes what `up` would do, changing nothing
        return [*self.base(), "--dry-run", "up", "-d"]

    def ps(self) -> list[str] | None:
        return [*self.base(), "ps"]


class Before(Stackup):
    """A second stackup install, the code before a change (``--before PATH``)."""
    name = "before"
    exe = STACKUP  # replaced by main() with --before


class ComposeV1(Tool):
    """docker-compose 1.29, the Python one (Debian 12's ``docker-compose`` package). It has no
    quiet mode: its progress lines go to the harness's pipe, plain (``--ansi never``). It has
    no plan or dry run either."""
    name = "compose-v1"

    def container(self, service: str) -> str:
        return f"{self.project}_{service}_1"

    def base(self) -> list[str]:
        return ["docker-compose", "--ansi", "never", "-p", self.project, "-f", str(self.file)]

    def up(self, change: str, phase: str) -> list[str] | None:
        return [*self.base(), "up", "-d"]

    def down(self) -> list[str]:
        return [*self.base(), "down", "-v"]

    def ps(self) -> list[str] | None:
        return [*self.base(), "ps"]


class Floor(Tool):
    name = "floor"

    def base(self, verb: str) -> list[str]:
        return [str(VENV_PY), str(BENCH / "floor.py"), verb, "--project", self.project,
                "--n", str(self.n), "--shape", self.shape]

    def up(self, change: str, phase: str) -> list[str] | None:
        if phase == "cold up -d":
            return self.base("up")
        if phase in QUICK:
            return None  # the floor has no diff and no listing: there is nothing to measure
        return [*self.base("recreate"), "--change", change]

    def down(self) -> list[str]:
        return [str(VENV_PY), str(BENCH / "floor.py"), "down", "--project", self.project]


TOOL_CLASSES: dict[str, type[Tool]] = {"before": Before, "stackup": Stackup, "compose": Compose,
                                       "compose-v1": ComposeV1, "floor": Floor}


# --- results -----------------------------------------------------------------------------------

@dataclass
class Results:
    cells: dict[tuple[str, str, int, str], Cell] = field(default_factory=dict)  # (phase, shape, n, tool)
    notes: list[str] = field(default_factory=list)
    rows: list[tuple[str, str, int]] = field(default_factory=list)  # in order of first use
    meta: dict[str, str] = field(default_factory=dict)

    def cell(self, phase: str, shape: str, n: int, tool: str) -> Cell:
        key = (phase, shape, n, tool)
        if (phase, shape, n) not in self.rows:
            self.rows.append((phase, shape, n))
        return self.cells.setdefault(key, Cell())

    def median(self, phase: str, shape: str, n: int, tool: str) -> float | None:
        cell = self.cells.get((phase, shape, n, tool))
        return cell.median if cell else None

    def ratio(self, phase: str, shape: str, n: int, a: str, b: str) -> float | None:
        x, y = self.median(phase, shape, n, a), self.median(phase, shape, n, b)
        return x / y if x is not None and y else None


def fmt_ratio(value: float | None) -> str:
    return f"{value:.2f}×" if value is not None else "—"


def record(results: Results, phase: str, shape: str, n: int, tool: str, run: Run,
           verbose: bool = True) -> None:
    results.cell(phase, shape, n, tool).runs.append(run)
    if verbose:
        shown = f"{run.seconds:.2f} s" if run.seconds is not None else "-"
        status = "ok" if run.ok else f"FAILED ({run.note})"
        print(f"  {tool:8} {shape:8} n={n:<5} {phase:22} {shown:>9}  {status}", flush=True)
    if not run.ok:
        results.notes.append(f"{tool}, {phase}, {shape} {n}: {run.note}")


# --- engine phases -----------------------------------------------------------------------------

@dataclass
class Session:
    token: str
    workdir: Path
    projects: list[str] = field(default_factory=list)

    def project(self, tool: str, shape: str, n: int, rep: int = 0) -> str:
        # A new name per repetition: an engine hiccup in one (dockerd 20.10 can leak a network
        # endpoint, leaving a network that cannot be removed) must not spill into the next.
        name = f"bench{self.token}-{tool}-{shape}{n}-r{rep + 1}"
        if name not in self.projects:
            self.projects.append(name)
        return name

    def folder(self, tool: str, shape: str, n: int) -> Path:
        path = self.workdir / f"{tool}-{shape}-{n}"
        path.mkdir(parents=True, exist_ok=True)
        return path


def check_after(tool: Tool, phase: str, want_gen: str | None, before: dict[str, str],
                run: Run) -> dict[str, str]:
    """Check the engine state a phase should leave; a wrong state fails the run. Untimed.
    ``want_gen``: the GEN the changed containers must have now (None: nothing changed)."""
    if not run.ok:
        return before
    names = [tool.container(s) for s in stacks.service_names(tool.n)]
    if phase == "down -v":
        left = project_containers(api(), tool.project)
        if left:
            run.ok, run.note = False, f"{len(left)} containers left after down"
        return {}
    after = running_state(tool.project)
    missing = [n for n in names if n not in after]
    if missing:
        run.ok = False
        run.note = f"{len(missing)}/{len(names)} containers not running, e.g. {missing[0]}"
        return after
    if phase != "cold up -d":
        replaced = sorted(n for n in names if before.get(n) != after.get(n))
        expected = ({tool.container(stacks.changed_service(tool.n))}
                    if phase == "up -d, one changed" else
                    set(names) if phase == "up -d, all changed" else set())
        if set(replaced) != expected:
            run.note = (f"replaced {len(replaced)} containers, expected {len(expected)}"
                        + (f" (e.g. {replaced[0]})" if replaced else ""))
            if not set(replaced) >= expected:
                run.ok = False
    if want_gen is not None:
        sample = [tool.container(stacks.changed_service(tool.n))]
        if phase == "up -d, all changed":
            sample = names
        gens = generations(tool.project, sample)
        wrong = [n for n in sample if gens.get(n) != want_gen]
        if wrong:
            run.ok, run.note = False, f"{len(wrong)} containers lack GEN={want_gen}, e.g. {wrong[0]}"
    return after


def _changes(phase: str, runs: int) -> list[tuple[str, str | None]]:
    """(the stack's change, the GEN the changed containers must then have) of each run of
    ``phase``. A repeated "one changed" switches ``s000`` between generations 2 and 1: every
    run replaces exactly that one container."""
    if phase == "up -d, one changed":
        return [("one", "2") if i % 2 == 0 else ("none", "1") for i in range(runs)]
    if phase == "up -d, all changed":
        return [("all", "3")] * runs
    return [("none", None)] * runs


def _rotated(names: list[str], by: int) -> list[str]:
    return names[by % len(names):] + names[:by % len(names)] if names else names


def engine_round(results: Results, session: Session, tool_names: list[str], shape: str,
                 n: int, phases: tuple[str, ...] = PHASES, timeout: float = RUN_TIMEOUT,
                 rep: int = 0, quick_reps: int = 1, change_reps: int = 1) -> None:
    """One repetition of the phases (cold up, no-op, plan, ps, one, all, down -v), the tools in
    turn within each phase: on a machine whose load swings within minutes, tools timed side by
    side meet the same load. The quick phases run ``quick_reps`` times and "one changed"
    ``change_reps`` times, each time every tool (run by run, not all runs of one tool and then
    the next): they take a second or less, so one run says little on a busy machine. The order
    of the tools rotates from run to run and from one repetition (``rep``) to the next, so that
    none always goes first."""
    names = list(tool_names)
    tools: dict[str, Tool] = {}
    for name in names:
        tool = TOOL_CLASSES[name](session.project(name, shape, n, rep),
                                  session.folder(name, shape, n), n, shape)
        stacks.write(tool.folder, n, shape, "none")
        cleanup(tool.project)  # a clean start, whatever an earlier repetition left behind
        tools[name] = tool
    state: dict[str, dict[str, str]] = {name: {} for name in names}
    for phase in phases:
        runs = quick_reps if phase in QUICK else change_reps if phase == "up -d, one changed" \
            else 1
        for i, (change, want_gen) in enumerate(_changes(phase, runs)):
            for name in _rotated(list(tools), rep + i):
                tool = tools[name]
                argv = tool.command(phase, change)
                if argv is None:
                    results.cell(phase, shape, n, name).skipped = "n/a"
                    continue
                if phase != "down -v":
                    stacks.write(tool.folder, n, shape, change)
                run = timed(argv, cwd=tool.folder, timeout=timeout)
                state[name] = check_after(tool, phase, want_gen, state[name], run)
                record(results, phase, shape, n, name, run)
                if not run.ok and phase == "cold up -d":
                    cleanup(tool.project)  # nothing to converge from
                    del tools[name]
    for tool in tools.values():
        cleanup(tool.project)


def tool_version(argv: list[str]) -> str | None:
    """What ``argv`` (a version command) prints, or None when the tool does not run."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def stackup_version(exe: Path) -> str:
    """``stackup --version`` of an install, and the commit of the checkout it lives in."""
    text = tool_version([str(exe), "--version"]) or "unknown"
    commit = tool_version(["git", "-C", str(exe.parent), "rev-parse", "--short", "HEAD"])
    return f"{text}, commit {commit} ({exe})" if commit else f"{text} ({exe})"


# --- engine-free phases ------------------------------------------------------------------------

def static_config(results: Results, session: Session, shape: str, n: int, reps: int,
                  compose: bool, compose_timeout: float) -> None:
    folder = session.folder("static", shape, n)
    stacks.write(folder, n, shape, "none")
    phase = "config -q (load, validate, graph)"
    proj = f"bench{session.token}-static"
    for _ in range(reps):
        run = timed([str(STACKUP), "-p", proj, "-f", str(folder / "compose.yaml"), "config",
                     "-q"], cwd=folder, timeout=120)
        record(results, phase, shape, n, "stackup", run)
    if not compose:
        results.cell(phase, shape, n, "compose").skipped = "not installed"
        return
    if shape == "layered" and n > 80:
        # 10^(n/10) paths: Compose would run for hours and grow its memory without bound.
        results.cell(phase, shape, n, "compose").skipped = "not run (explodes, see 60/70)"
        return
    for _ in range(reps):
        run = timed(["docker", "compose", "-p", proj, "-f", str(folder / "compose.yaml"),
                     "config", "-q"], cwd=folder, timeout=compose_timeout)
        record(results, phase, shape, n, "compose", run)
        if not run.ok:
            break  # one timeout says it


PLAN_SCRIPT = r"""
import json, os, sys, time, hashlib
t0 = time.perf_counter()
from stackup.loader.loader import LoadOptions, load_project
from stackup.core.hashing import config_hash
from stackup.core.model import FrozenMap
from stackup.core.observed import ObservedContainer, ObservedNetwork, ObservedState
from stackup.reconcile import UpOptions, plan_up
from stackup.reconcile._select import container_name
from stackup.core import labels as L
t1 = time.perf_counter()
path, name, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
project = load_project(LoadOptions(files=(path,), project_name=name, environ=dict(os.environ),
                                   cwd=os.path.dirname(path))).project
t2 = time.perf_counter()
image_ids = {}
containers = []
for service in project.services.values():
    digest, text = config_hash(project, service)
    ref = service.image_ref(project.name)
    image_id = image_ids.setdefault(ref, "sha256:" + hashlib.sha256(ref.encode()).hexdigest())
    for number in range(1, service.replicas + 1):
        cname = container_name(project.name, service, number)
        labels = {L.PROJECT: project.name, L.SERVICE: service.name, L.NUMBER: str(number),
                  L.CONFIG_HASH: digest, L.CONFIG: text, L.IMAGE: ref}
        containers.append(ObservedContainer(
            container_id=hashlib.sha256(cname.encode()).hexdigest(), name=cname,
            service=service.name, number=number, state="running", config_hash=digest,
            config=FrozenMap(json.loads(text)), image_id=image_id, image_ref=ref,
            labels=FrozenMap(labels)))
networks = {}
for key, net in project.networks.items():
    if net.external:
        continue
    networks[net.name] = ObservedNetwork(
        name=net.name, network_id=hashlib.sha256(net.name.encode()).hexdigest(), key=key,
        driver=net.driver or "bridge", internal=net.internal, attachable=net.attachable,
        options=FrozenMap(net.driver_opts),
        labels=FrozenMap({**net.labels, L.PROJECT: project.name, L.NETWORK: key}),
        project=project.name)
observed = ObservedState(project_name=project.name,
                         containers=tuple(sorted(containers, key=lambda c: (c.service, c.number, c.name))),
                         networks=FrozenMap(networks), images=FrozenMap(image_ids))
t3 = time.perf_counter()
times = []
for _ in range(reps):
    start = time.perf_counter()
    plan = plan_up(project, observed, UpOptions())
    times.append(time.perf_counter() - start)
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "observed": t3 - t2, "plan": times,
                  "empty": plan.empty, "operations": len(plan.operations),
                  "up_to_date": len(plan.up_to_date)}))
"""


def static_plan(results: Results, session: Session, shape: str, n: int, reps: int) -> None:
    folder = session.folder("static", shape, n)
    path = stacks.write(folder, n, shape, "none")
    phase = "plan_up, converged (API)"
    try:
        out = subprocess.run([str(VENV_PY), "-c", PLAN_SCRIPT, str(path),
                              f"bench{session.token}-plan", str(reps)],
                             capture_output=True, text=True, timeout=600, cwd=folder,
                             env=CHILD_ENV)
    except subprocess.TimeoutExpired:
        record(results, phase, shape, n, "stackup", Run(None, False, "timeout 600 s"))
        return
    if out.returncode != 0:
        tail = " | ".join(out.stderr.strip().splitlines()[-4:])
        record(results, phase, shape, n, "stackup", Run(None, False, f"exit {out.returncode}: {tail}"))
        return
    data = json.loads(out.stdout.strip().splitlines()[-1])
    ok = bool(data["empty"]) and data["up_to_date"] == n
    note = "" if ok else (f"plan not empty on a converged state: {data['operations']} operations, "
                          f"{data['up_to_date']} up to date")
    for seconds in data["plan"]:
        record(results, phase, shape, n, "stackup", Run(seconds, ok, note), verbose=False)
    print(f"  stackup  {shape:8} n={n:<5} {phase:22} median {statistics.median(data['plan']):.3f} s"
          f" (load {data['load']:.2f} s, observed {data['observed']:.2f} s){' ' + note if note else ''}",
          flush=True)


# --- the machine -------------------------------------------------------------------------------

def machine(versions: dict[str, str | None], tools: list[str]) -> dict[str, str]:
    info: dict[str, str] = {}
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info["CPU"] = cpu or "unknown"
    info["cores"] = str(os.cpu_count())
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory"] = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    info["kernel"] = f"{platform.system()} {platform.release()}"
    try:
        v = api().version()
        info["engine"] = f"Docker Engine {v.get('Version')} (API {v.get('ApiVersion')})"
    except Exception as error:  # noqa: BLE001
        info["engine"] = f"unknown ({error})"
    info["stackup"] = stackup_version(STACKUP)
    if "before" in tools:
        info["before"] = stackup_version(Before.exe)
    compose, v1 = versions.get("compose"), versions.get("compose-v1")
    info["compose"] = f"Docker Compose {compose}" if compose else "not installed"
    info["compose-v1"] = f"docker-compose {v1}" if v1 else "not installed"
    info["python"] = platform.python_version()
    info["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return info


# --- report ------------------------------------------------------------------------------------

def used_tools(results: Results) -> list[str]:
    seen = {tool for (_, _, _, tool) in results.cells}
    return [tool for tool in TOOLS if tool in seen]


def table(results: Results) -> str:
    """Every row: each tool's median, then stackup/X for each other tool that ran."""
    tools = used_tools(results)
    if not tools:
        return "(nothing was measured)"
    others = [t for t in RATIOS if t in tools and "stackup" in tools]
    lines = ["| phase | shape | services | " + " | ".join(tools)
             + "".join(f" | stackup/{t}" for t in others) + " |",
             "|---|---|---:|" + "---:|" * (len(tools) + len(others))]
    for phase, shape, n in results.rows:
        cells = [results.cells.get((phase, shape, n, t)) or Cell() for t in tools]
        lines.append(
            f"| {phase} | {shape} | {n:,} | " + " | ".join(c.text() for c in cells)
            + "".join(f" | {fmt_ratio(results.ratio(phase, shape, n, 'stackup', t))}"
                      for t in others) + " |")
    return "\n".join(lines)


def memory_table(results: Results, n: int) -> str:
    """Peak memory (largest resident set over the runs) of each tool on the ``n``-service rows."""
    rows = [(phase, shape) for phase, shape, size in results.rows if size == n]
    tools = [t for t in used_tools(results) if t != "floor" and any(
        (phase, shape, n, t) in results.cells for phase, shape in rows)]
    if not rows or not tools:
        return ""
    lines = ["| phase | shape | services | " + " | ".join(f"{t} time | {t} peak RSS"
                                                       for t in tools) + " |",
             "|---|---|---:|" + "---:|" * (2 * len(tools))]
    for phase, shape in rows:
        parts = []
        for tool in tools:
            cell = results.cells.get((phase, shape, n, tool)) or Cell()
            rss = cell.peak_rss_mib
            parts += [cell.text(), f"{rss:.0f} MiB" if rss is not None else "—"]
        lines.append(f"| {phase} | {shape} | {n:,} | " + " | ".join(parts) + " |")
    return "\n".join(lines)


@dataclass
class Target:
    text: str
    status: str  # met, not met, not measured, measured (no limit set)
    detail: str


def _ratios(results: Results, phase: str, where: list[tuple[str, int]], other: str,
            other_phase: str | None = None) -> list[tuple[str, float]]:
    """stackup's median over ``other``'s (on ``other_phase`` if given) on each (shape, n)."""
    out = []
    for shape, n in where:
        mine = results.median(phase, shape, n, "stackup")
        theirs = results.median(other_phase or phase, shape, n, other)
        if mine is not None and theirs:
            out.append((f"{shape} {n}", mine / theirs))
    return out


def _limit(text: str, seen: list[tuple[str, float]], limit: float, strict: bool = False) -> Target:
    """Met when the worst ratio is at most ``limit`` (below it when ``strict``)."""
    if not seen:
        return Target(text, "not measured", "no medians for both tools")
    worst = max(r for _, r in seen)
    met = worst < limit if strict else worst <= limit
    return Target(text, "met" if met else "not met",
                  ", ".join(f"{r:.2f}× ({where})" for where, r in seen))


def targets(results: Results, shapes: list[str], n: int, idle_sizes: list[int],
            huge_n: int) -> list[Target]:
    """The speed targets of issue 17, part 8, each marked met or not from the medians."""
    out: list[Target] = []
    engine_rows = [(shape, n) for shape in shapes]
    for phase, text in (("cold up -d", "cold `up -d`"),
                        ("up -d, one changed", "`up -d`, one service changed"),
                        ("up -d, all changed", "`up -d`, every service changed"),
                        ("down -v", "`down -v`")):
        out.append(_limit(f"{text} ≤ 1.0× compose", _ratios(results, phase, engine_rows,
                                                            "compose"), 1.0))
        out.append(_limit(f"{text} ≤ 1.05× floor", _ratios(results, phase, engine_rows,
                                                           "floor"), 1.05))
    read_rows = engine_rows + [("wide", size) for size in idle_sizes]
    for phase, text in (("no-op up -d", "no-op `up -d`"),
                        ("plan, converged", "`plan` (compose: `--dry-run up -d`)"),
                        ("ps", "`ps`")):
        out.append(_limit(f"{text} ≤ 3.0× compose", _ratios(results, phase, read_rows,
                                                            "compose"), 3.0))
        # docker-compose 1.29 has no plan or dry run: its no-op `up -d` is the nearest
        v1_phase = "no-op up -d" if phase == "plan, converged" else phase
        v1_text = (f"{text.split(' (')[0]} ahead of compose-v1 (< 1.0×; v1 has no plan: "
                   "its no-op `up -d`)" if phase == "plan, converged" else
                   f"{text} ahead of compose-v1 (< 1.0×)")
        out.append(_limit(v1_text, _ratios(results, phase, read_rows, "compose-v1", v1_phase),
                          1.0, strict=True))
    for phase, text in (("plan, converged", "`plan`, converged"),
                        ("up -d, one changed", "`up -d`, one service changed")):
        text = f"{text}, {huge_n:,}-service wide stack: time and peak memory against compose"
        parts = []
        for tool in ("stackup", "compose"):
            cell = results.cells.get((phase, "wide", huge_n, tool))
            if cell is not None and cell.median is not None:
                rss = cell.peak_rss_mib
                parts.append(f"{tool} {cell.text()}, "
                             + (f"{rss:.0f} MiB" if rss is not None else "memory unknown"))
        ratio = results.ratio(phase, "wide", huge_n, "stackup", "compose")
        if ratio is not None:
            parts.append(f"{ratio:.2f}× the time")
        mine, theirs = (results.cells.get((phase, "wide", huge_n, t))
                        for t in ("stackup", "compose"))
        if mine and theirs and mine.peak_rss_mib and theirs.peak_rss_mib:
            parts.append(f"{mine.peak_rss_mib / theirs.peak_rss_mib:.2f}× the memory")
        out.append(Target(text, "measured (no limit set)" if parts else "not measured",
                          "; ".join(parts)))
    return out


def other_checks(results: Results, big_n: int) -> list[Target]:
    """Checks of earlier work that still apply: the engine-free algorithms and a big layered
    stack."""
    out: list[Target] = []
    for size, limit in ((1000, 1.5), (5000, 8.0)):
        med = results.median("config -q (load, validate, graph)", "layered", size, "stackup")
        text = f"`stackup config -q`, {size:,} layered services < {limit:g} s"
        out.append(Target(text, "not measured", "") if med is None else
                   Target(text, "met" if med < limit else "not met", f"{med:.2f} s"))
    plans = [(s, results.median("plan_up, converged (API)", s, 1000, "stackup"))
             for s in ("wide", "layered")]
    found = [(s, m) for s, m in plans if m is not None]
    text = "plan on a converged 1,000-service state < 0.5 s"
    out.append(Target(text, "not measured", "") if not found else
               Target(text, "met" if max(m for _, m in found) < 0.5 else "not met",
                      ", ".join(f"{m:.3f} s ({s})" for s, m in found)))
    up = results.cells.get(("cold up -d", "layered", big_n, "stackup"))
    down = results.cells.get(("down -v", "layered", big_n, "stackup"))
    text = f"`up`/`down` of a {big_n}-service layered stack completes"
    if up is None or not up.runs:
        out.append(Target(text, "not measured", ""))
    else:
        done = up.median is not None and down is not None and down.median is not None
        fu, fd = (results.median("cold up -d", "layered", big_n, "floor"),
                  results.median("down -v", "layered", big_n, "floor"))
        detail = (f"up {up.text()} (floor {fu:.2f} s), down {down.text() if down else '—'}"
                  f" (floor {fd:.2f} s)" if fu is not None and fd is not None else
                  f"up {up.text()}, down {down.text() if down else '—'}")
        out.append(Target(text, "met" if done else "not met", detail))
    return out


def _target_rows(found: list[Target]) -> list[str]:
    return ["| target | status | measured |", "|---|---|---|",
            *[f"| {t.text} | {t.status} | {t.detail} |" for t in found]]


def report(results: Results, args: argparse.Namespace) -> str:
    tg = targets(results, args.shape_list, args.n, args.idle_size_list, args.huge_n)
    memory = memory_table(results, args.huge_n)
    parts = [
        "# Benchmarks",
        "",
        "Generated by `bench/harness.py` (see `bench/README.md` for what each phase means and "
        "how to run it). Every time is the **median wall time of the whole command**, process "
        "start included, over the repetitions shown. Machines are noisy: compare the ratios, "
        "not the seconds.",
        "",
        f"Command: `python bench/harness.py {' '.join(args.argv)}`".rstrip() + " "
        f"({args.reps} repetitions of each engine phase).",
        "",
        "## Machine",
        "",
        *[f"- {k}: {v}" for k, v in results.meta.items()],
        "",
        "## Results",
        "",
        "Tools: **stackup** = `.venv/bin/stackup -p P -f FILE --progress quiet …`; **before** = "
        "the same command with the stackup given by `--before` (the code before the change); "
        "**compose** = `docker compose -p P -f FILE --progress quiet …` (Compose v2); "
        "**compose-v1** = `docker-compose --ansi never -p P -f FILE …` (the Python "
        "docker-compose 1.29, which has no quiet mode: its progress lines go to a pipe, and "
        "no plan or dry run); **floor** = `bench/floor.py`, the "
        "same containers created and started straight through the Docker SDK from 16 threads "
        "(no spec, no graph, no diff; for the changed phases it stops, removes, creates and "
        "starts exactly the changed containers). `plan, converged` is `stackup plan` beside "
        "`docker compose --dry-run up -d` (Compose has no plan command), `ps` is each tool's "
        "`ps`, both on the converged stack. The quick phases (no-op up, plan, ps) and "
        "`one changed` run every tool in turn, run by run, the order rotating. A repeated "
        "`one changed` switches `s000` between two generations, so each run replaces one "
        "container. The wide stacks above 50 services (idle section) are brought up once per "
        f"tool for no-op up, plan and ps. The {args.huge_n:,}-service wide stack is brought up "
        "by one tool at a time (two would not fit beside other work), each tool's runs "
        "back to back. Engine-free rows are stackup (and Compose's "
        "`config -q` where it ends); `plan_up` is timed in-process through the Python API on a "
        "hand-built converged ObservedState.",
        "",
        table(results),
        "",
    ]
    if memory:
        parts += [
            f"### The {args.huge_n:,}-service wide stack: time and peak memory",
            "",
            "Peak memory is the largest resident set (GNU time's `%M`) of the command or of a "
            "process it waited for, the largest over its runs; for "
            "Compose v2 that is the larger of the docker CLI and its compose plugin, which run "
            "together.",
            "",
            memory,
            "",
        ]
    parts += [
        "## Targets",
        "",
        "Issue 17, part 8. Each is checked on every stack it names (50 services wide and "
        "layered; the reads also on the wide idle stacks); the worst ratio decides.",
        "",
        *_target_rows(tg),
        "",
        "## Other checks",
        "",
        *_target_rows(other_checks(results, args.big_n)),
        "",
    ]
    if results.notes:
        parts += ["## Notes", "",
                  "Failures and oddities seen during the run (a failed run has no time in the "
                  "table):", ""]
        parts += [f"- {note}" for note in dict.fromkeys(results.notes)]
        parts.append("")
    return "\n".join(parts)


KEEP_MARKER = ("<!-- Everything above is written by bench/harness.py; text below this line is "
               "kept when it runs again. -->")


# --- main --------------------------------------------------------------------------------------

def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Benchmark stackup against Compose and the floor.")
    p.add_argument("--n", type=int, default=None, help="services per engine stack (default 50)")
    p.add_argument("--reps", type=int, default=None,
                   help="repetitions per engine phase (default 2)")
    p.add_argument("--shapes", default="wide,layered",
                   help="comma-separated shapes for engine phases: wide, layered, chain")
    p.add_argument("--tools", default="before,stackup,compose,compose-v1,floor",
                   help="tools to run; those not installed (and `before` without --before) "
                        "are left out")
    p.add_argument("--before", default=None, metavar="PATH",
                   help="a second stackup executable, the code before a change (e.g. "
                        "/work/before/.venv/bin/stackup): the `before` column")
    p.add_argument("--sections", default="engine,idle,huge,static,big",
                   help="engine (n-service phases), idle (no-op up, plan, ps on big wide "
                        "stacks), huge (plan and one changed on a 1,000-service wide stack, "
                        "with memory), static (engine-free), big (100 layered)")
    p.add_argument("--quick-reps", type=int, default=None,
                   help="runs of no-op up, plan and ps per repetition (default 5)")
    p.add_argument("--change-reps", type=int, default=None,
                   help="runs of 'one changed' per repetition (default 5)")
    p.add_argument("--idle-sizes", default=None,
                   help="wide stack sizes for the idle section (default 200)")
    p.add_argument("--idle-reps", type=int, default=None,
                   help="runs of no-op up, plan and ps on each idle stack (default 9)")
    p.add_argument("--huge-n", type=int, default=None,
                   help="services of the huge wide stack (default 1000)")
    p.add_argument("--huge-reps", type=int, default=None,
                   help="runs of plan and of one changed on the huge stack (default 5)")
    p.add_argument("--huge-tools", default="stackup,compose",
                   help="tools run on the huge stack, one after the other")
    p.add_argument("--big-n", type=int, default=None)
    p.add_argument("--static-sizes", default=None)
    p.add_argument("--explode-sizes", default=None,
                   help="layered sizes for `docker compose config -q` under a timeout")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: n=10, 1 repetition, small sizes, no docs write")
    p.add_argument("--out", default=None, help="markdown file to write (default docs/benchmarks.md)")
    p.add_argument("--no-write", action="store_true", help="print the table only")
    p.add_argument("--keep-pythondontwritebytecode", action="store_true",
                   help="run tools with PYTHONDONTWRITEBYTECODE as set (default: unset it, so "
                        "stackup runs from its bytecode cache like an installed copy)")
    args = p.parse_args(argv)
    args.argv = argv
    defaults = {"n": 50, "reps": 2, "big_n": 100, "static_sizes": "1000,5000",
                "explode_sizes": "60,70", "quick_reps": 5, "change_reps": 5,
                "idle_sizes": "200", "idle_reps": 9, "huge_n": 1000, "huge_reps": 5}
    if args.quick:  # explicit options still win
        defaults = {"n": 10, "reps": 1, "big_n": 20, "static_sizes": "200,1000",
                    "explode_sizes": "30,40", "quick_reps": 1, "change_reps": 1,
                    "idle_sizes": "20", "idle_reps": 1, "huge_n": 100, "huge_reps": 1}
        if args.out is None:
            args.no_write = True
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.out = Path(args.out) if args.out else ROOT / "docs" / "benchmarks.md"
    args.shape_list = [s for s in args.shapes.split(",") if s]
    args.idle_size_list = [int(s) for s in args.idle_sizes.split(",") if s]
    return args


def available_tools(args: argparse.Namespace) -> tuple[list[str], dict[str, str | None]]:
    """The tools of --tools that can run here, and the versions of the Compose tools."""
    tools = [t for t in args.tools.split(",") if t]
    unknown = [t for t in tools if t not in TOOL_CLASSES]
    if unknown:
        raise SystemExit(f"unknown tools {', '.join(unknown)} (known: {', '.join(TOOLS)})")
    versions = {"compose": tool_version(["docker", "compose", "version", "--short"]),
                "compose-v1": tool_version(["docker-compose", "version", "--short"])}
    missing = {"compose": "docker compose is not installed (bench/compose_v2.sh installs it)",
               "compose-v1": "docker-compose (v1) is not installed (Debian 12: apt-get "
                             "install docker-compose)"}
    for tool, why in missing.items():
        if tool in tools and versions[tool] is None:
            print(f"{why}: no {tool} column", file=sys.stderr)
            tools.remove(tool)
    if "before" in tools:
        if args.before is None:
            tools.remove("before")
        elif tool_version([args.before, "--version"]) is None:
            raise SystemExit(f"--before {args.before}: `{args.before} --version` does not run")
        else:
            Before.exe = Path(args.before).absolute()
    return tools, versions


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    shapes = args.shape_list
    for s in shapes:
        if s not in stacks.SHAPES:
            raise SystemExit(f"unknown shape {s}")
    sections = set(args.sections.split(","))
    tools, versions = available_tools(args)
    global CHILD_ENV
    CHILD_ENV = child_env(args.keep_pythondontwritebytecode)
    warm_up(tools, CHILD_ENV)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    session = Session(token=secrets.token_hex(3),
                      workdir=Path(tempfile.mkdtemp(prefix="stackup-bench-")))
    results = Results()
    results.meta = machine(versions, tools)
    results.meta["bytecode cache"] = ("as the environment says (PYTHONDONTWRITEBYTECODE="
                                      f"{os.environ.get('PYTHONDONTWRITEBYTECODE', '')!s})"
                                      if args.keep_pythondontwritebytecode else
                                      "on (both stackups precompiled, like installed copies)")
    print("machine: " + "; ".join(f"{k} {v}" for k, v in results.meta.items()), flush=True)
    compose = "compose" in tools
    started = time.monotonic()

    def stage(text: str) -> None:
        minutes, seconds = divmod(int(time.monotonic() - started), 60)
        print(f"== [{minutes:02}:{seconds:02}] {text}", flush=True)

    interrupted = False
    try:
        if "engine" in sections:
            for shape in shapes:
                for rep in range(args.reps):
                    stage(f"engine phases, {shape} {args.n}, repetition {rep + 1}/{args.reps}")
                    engine_round(results, session, tools, shape, args.n, rep=rep,
                                 quick_reps=args.quick_reps, change_reps=args.change_reps)
        if "idle" in sections:
            for size in args.idle_size_list:
                stage(f"wide {size}: cold up, then no-op up, plan and ps "
                      f"{args.idle_reps} times each, down")
                engine_round(results, session, [t for t in tools if t != "floor"], "wide",
                             size, phases=IDLE_PHASES, quick_reps=args.idle_reps)
        if "huge" in sections:
            for tool in [t for t in args.huge_tools.split(",") if t in tools]:
                stage(f"wide {args.huge_n}, {tool} alone: cold up, plan and one changed "
                      f"{args.huge_reps} times each, down")
                engine_round(results, session, [tool], "wide", args.huge_n,
                             phases=HUGE_PHASES, quick_reps=args.huge_reps,
                             change_reps=args.huge_reps,
                             timeout=max(RUN_TIMEOUT, HUGE_SECONDS_PER_SERVICE * args.huge_n))
        if "static" in sections:
            stage("engine-free phases")
            sizes = [int(s) for s in args.static_sizes.split(",") if s]
            for shape in ("wide", "layered"):
                for size in sizes:
                    static_config(results, session, shape, size, max(args.reps, 1), compose,
                                  CONFIG_TIMEOUT)
            for size in [int(s) for s in args.explode_sizes.split(",") if s]:
                static_config(results, session, "layered", size, 1, compose, CONFIG_TIMEOUT)
            for shape in ("wide", "layered"):
                for size in sizes[:1]:
                    static_plan(results, session, shape, size, max(args.reps, 5))
        if "big" in sections:
            stage(f"{args.big_n}-service layered stack, once")
            for tool in [t for t in tools if t in ("stackup", "compose", "floor")]:
                if tool == "compose" and args.big_n > 80:
                    # Compose walks every dependency path (10^(n/10) of them) before it starts
                    # anything: it would not finish, and its memory would keep growing.
                    for phase in ("cold up -d", "down -v"):
                        results.cell(phase, "layered", args.big_n, tool).skipped = \
                            "not run (path walk)"
                    continue
                timeout = BIG_COMPOSE_TIMEOUT if tool == "compose" else RUN_TIMEOUT
                engine_round(results, session, [tool], "layered", args.big_n,
                             phases=("cold up -d", "down -v"), timeout=timeout)
    except KeyboardInterrupt:
        interrupted = True
        print("\ninterrupted: cleaning up, then reporting what was measured", file=sys.stderr)
    finally:
        for project in session.projects:
            cleanup(project)
        shutil.rmtree(session.workdir, ignore_errors=True)
    if LOADS:
        results.meta["load average (1 min) before each timed command"] = (
            f"median {statistics.median(LOADS):.1f}, min {min(LOADS):.1f}, "
            f"max {max(LOADS):.1f} (other work shares this machine)")
    results.meta["runs per cell"] = (
        f"{args.reps} repetitions; no-op up, plan and ps {args.reps * args.quick_reps} runs, "
        f"one changed {args.reps * args.change_reps} runs; on the idle stacks "
        f"{args.idle_reps} runs of no-op up, plan and ps, 1 of cold up and down; on the "
        f"{args.huge_n:,}-service stack {args.huge_reps} runs of plan and one changed, 1 of "
        "cold up and down")
    results.meta["duration"] = f"{(time.monotonic() - started) / 60:.1f} min"
    text = report(results, args)
    print()
    print(table(results))
    memory = memory_table(results, args.huge_n)
    if memory:
        print()
        print(memory)
    print()
    for t in targets(results, shapes, args.n, args.idle_size_list, args.huge_n) + \
            other_checks(results, args.big_n):
        print(f"{t.status:>12}  {t.text}  [{t.detail}]")
    print(f"\nduration {results.meta['duration']}")
    if not args.no_write and interrupted:  # what was measured, never over the full report
        partial = args.out.with_suffix(".partial.md")
        partial.write_text("**Interrupted: partial results.**\n\n" + text, encoding="utf-8")
        print(f"\nwrote {partial}")
    if not args.no_write and not interrupted:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        text += "\n" + KEEP_MARKER + "\n"
        if args.out.exists():  # hand-written analysis below the marker survives a re-run
            old = args.out.read_text(encoding="utf-8")
            if KEEP_MARKER in old:
                text += old.split(KEEP_MARKER, 1)[1].lstrip("\n")
        args.out.write_text(text, encoding="utf-8")
        print(f"\nwrote {args.out}")
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
