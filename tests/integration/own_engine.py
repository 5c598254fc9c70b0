"""A dockerd of a test's own, for tests that may damage an engine (restart it, wedge its network).

It runs in a network namespace of its own (``unshare --net`` execs dockerd, so the pid is
dockerd's) with its own socket, data root, exec root and pid file: a dockerd in the host's
namespace rewrites host links as it restarts (it deleted the shared engine's docker0 and left
its project bridges, with their addresses, behind). ``busybox:local`` is copied into it from the
shared engine. Tests use it through ``own_engine_for`` (a fixture body); it is skipped where
dockerd cannot be started (no binary, not root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest


@dataclass
class OwnEngine:
    """A dockerd of the test's own: its socket, data root, exec root, pid file."""

    root: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"unix://{self.root}/docker.sock"

    def start(self) -> None:
        run = self.root / "run"
        run.mkdir(parents=True, exist_ok=True)
        log = open(self.root / "dockerd.log", "ab")  # noqa: SIM115 - kept for the process
        self.process = subprocess.Popen(
            ["unshare", "--net", "--", "dockerd", "--host", self.host,
             "--data-root", str(self.root / "data"), "--exec-root", str(run),
             "--pidfile", str(self.root / "dockerd.pid"), "--iptables=false"],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        client = docker.APIClient(base_url=self.host, version="1.41", timeout=10)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    client.ping()
                    return
                except Exception:  # noqa: BLE001 - not up yet
                    if self.process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("dockerd did not answer:\n" + self.log_tail())
                    time.sleep(0.2)
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self) -> str:
        try:
            return (self.root / "dockerd.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""


def own_engine_for(client: docker.DockerClient, prefix: str = "stk-fault-") -> Iterator[OwnEngine]:
    """A fixture's body: start an engine of the test's own with ``busybox:local`` (copied from
    ``client``'s engine), yield it, then stop it and remove its files."""
    if shutil.which("dockerd") is None or shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("a second dockerd needs the dockerd and unshare binaries and root")
    root = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/lib"))
    engine = OwnEngine(root)
    try:
        try:
            engine.start()
        except (OSError, RuntimeError) as exc:
            pytest.skip(f"cannot start a second dockerd: {exc}")
        own = docker.DockerClient(base_url=engine.host, timeout=120)
        try:
            own.images.load(b"".join(client.images.get("busybox:local").save(named=True)))
        finally:
            own.close()
        yield engine
    finally:
        engine.stop()
        shutil.rmtree(root, ignore_errors=True)
