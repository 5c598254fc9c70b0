"""Failed requests while a 3-replica web service is replaced (issue 12, "measured, not claimed").

A client container on the project network requests ``http://web/`` every 100 ms while the
service's environment changes and it is updated by:

* stackup, ``deploy.update_config.order: start-first`` (with a healthcheck);
* stackup, ``order: stop-first`` (one replica at a time);
* stackup without ``update_config`` (every replica replaced at once, as Compose does);
* Docker Compose 2.26 (``docker compose up -d``), when ``scripts/compose.sh`` can install it.

    .venv/bin/python bench/rollout_downtime.py [--runs N]

Prints one line per run and a table of failed / total requests per tool. The stack is
``examples/rolling-update`` (busybox httpd, a wget healthcheck); projects are removed after.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STACKUP = str(Path(sys.executable).parent / "stackup")
EXAMPLE = ROOT / "examples" / "rolling-update" / "compose.yaml"
PROBE = ("trap 'exit 0' TERM; while :; do "
         "if timeout 3 wget -q -O /dev/null http://web/; then echo ok; else echo FAIL; fi; "
         "sleep 0.1; done")


def sh(*args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    done = subprocess.run(args, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if check and done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def stack_file(folder: Path, order: str | None) -> Path:
    text = EXAMPLE.read_text().replace("name: rolling\n", "")
    if order == "none":  # no update_config: every replica replaced at once, as Compose does
        text = text[: text.index("      update_config:")] + text[text.index("  client:"):]
    elif order is not None:
        text = text.replace("order: start-first", f"order: {order}")
    # the client of the example is replaced by the probe started by hand, after the first up
    text = text[: text.index("  client:")]
    path = folder / "compose.yaml"
    path.write_text(text)
    return path


def measure(tool: str, order: str | None) -> tuple[int, int, float]:
    """(failed, total requests during the update, seconds the update took)."""
    project = f"roll{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        path = stack_file(Path(tmp), order)
        if tool == "stackup":
            up = [STACKUP, "-p", project, "-f", str(path), "up", "-d", "--wait"]
            down = [STACKUP, "-p", project, "-f", str(path), "down", "-t", "1"]
        else:
            up = ["docker", "compose", "-p", project, "-f", str(path), "up", "-d", "--wait"]
            down = ["docker", "compose", "-p", project, "-f", str(path), "down", "-t", "1"]
        probe = f"{project}-probe"
        try:
            sh(*up, env={"VERSION": "v1"})
            sh("docker", "run", "-d", "--name", probe, "--network", f"{project}_default",
               "busybox:local", "sh", "-c", PROBE)
            time.sleep(1.5)
            start = time.monotonic()
            sh(*up, env={"VERSION": "v2"})
            seconds = time.monotonic() - start
            time.sleep(1.0)
            lines = sh("docker", "logs", probe).split()
            return lines.count("FAIL"), len(lines), seconds
        finally:
            sh("docker", "rm", "-f", probe, check=False)
            sh(*down, check=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    tools = [("stackup start-first", "stackup", "start-first"),
             ("stackup stop-first, batches of 1", "stackup", "stop-first"),
             ("stackup, no update_config", "stackup", "none")]
    if subprocess.run(["bash", str(ROOT / "scripts" / "compose.sh")],
                      capture_output=True).returncode == 0:
        tools.append(("Docker Compose 2.26", "compose", None))
    else:
        print("Docker Compose not available: scripts/compose.sh failed", file=sys.stderr)
    results: dict[str, list[tuple[int, int, float]]] = {}
    for label, tool, order in tools:
        for run in range(runs):
            failed, total, seconds = measure(tool, order)
            print(f"{label:<34} run {run + 1}: {failed} failed of {total} requests "
                  f"(update took {seconds:.1f}s)", flush=True)
            results.setdefault(label, []).append((failed, total, seconds))
    print("\n| update by | failed requests per run | requests per run | update time |")
    print("|---|---|---|---|")
    for label, rows in results.items():
        print(f"| {label} | {', '.join(str(r[0]) for r in rows)} | "
              f"{', '.join(str(r[1]) for r in rows)} | "
              f"{min(r[2] for r in rows):.1f}–{max(r[2] for r in rows):.1f} s |")


if __name__ == "__main__":
    main()
