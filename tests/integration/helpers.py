"""Helpers for the end-to-end tests: run the installed `stackup` command on a stack file."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import docker

STACKUP = str(Path(sys.executable).parent / "stackup")
LOOP = "trap 'exit 0' TERM; while :; do sleep 0.2; done"


def run(folder: Path, project: str, *args: str, check: bool = True,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([STACKUP, "-p", project, "--progress", "plain",
                             "-f", str(folder / "compose.yaml"), *args],
                            capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"stackup {' '.join(args)} exited {result.returncode}\n"
                             f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


def write(folder: Path, text: str) -> Path:
    path = folder / "compose.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def ids(client: docker.DockerClient, project: str) -> dict[str, str]:
    """Names and ids of the project's containers: one list call (the SDK's ``containers.list``
    inspects each one it lists and fails on one removed in between)."""
    found = client.api.containers(all=True, filters={"label": f"io.stackup.project={project}"})
    return {c["Names"][0].lstrip("/"): c["Id"] for c in found}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sigint_as_in_a_terminal() -> None:
    """``preexec_fn`` for a command a test interrupts with SIGINT: the default disposition, as
    in a terminal. A test run started in the background (``cmd &`` in a non-interactive shell)
    ignores SIGINT, children inherit that, and Python keeps an inherited "ignore"."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
