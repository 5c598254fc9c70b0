"""The Compose keys of issue 20 on the real engine, through the CLI: the resource and isolation
limits reach ``docker inspect``'s HostConfig (and the cgroup inside the container where the
kernel shows it), label_file, use_api_socket, attach: false, the pull refresh policies with the
last pull kept on the engine, and what a single engine cannot do refused in one clear line.
Then ``commit`` and ``export``: a file made in a service container is in the image and the tar.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from stackup.core import labels as L
from tests.integration.helpers import LOOP, STACKUP, run, write
from tests.registry_server import RegistryServer

pytestmark = pytest.mark.engine


def _block_device() -> str | None:
    """A block device of this machine for blkio device rates (they need a real one)."""
    for name in ("vda", "sda", "nvme0n1", "xvda"):
        if os.path.exists(f"/dev/{name}"):
            return f"/dev/{name}"
    return None


def _cgroup_v1() -> bool:
    return os.path.isdir("/sys/fs/cgroup/memory")


def test_limits_and_modes_reach_host_config(tmp_path: Path, project_name: str,
                                            client: docker.DockerClient) -> None:
    device = _block_device()
    blkio = (f"""
            blkio_config:
              device_read_bps: [{{path: {device}, rate: 1mb}}]
              device_write_iops: [{{path: {device}, rate: 30}}]""" if device else "")
    (tmp_path / "team.labels").write_text("team=core\ntier=from-file\n")
    write(tmp_path, f"""
        services:
          web:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            stop_grace_period: 1s
            cpu_period: 100000
            cpu_quota: 50000
            mem_limit: 32m
            mem_swappiness: 20
            memswap_limit: 64m
            oom_kill_disable: true{blkio}
            device_cgroup_rules: ["c 1:3 mr"]
            uts: host
            cgroup: private
            isolation: default
            label_file: ./team.labels
            labels: {{tier: own}}
            use_api_socket: true
    """)
    run(tmp_path, project_name, "up", "-d")
    web = client.containers.get(f"{project_name}-web-1")
    host = web.attrs["HostConfig"]
    assert (host["CpuPeriod"], host["CpuQuota"]) == (100000, 50000)
    assert (host["Memory"], host["MemorySwap"], host["MemorySwappiness"]) == (
        32 << 20, 64 << 20, 20)
    assert host["OomKillDisable"] is True
    assert host["DeviceCgroupRules"] == ["c 1:3 mr"]
    assert (host["UTSMode"], host["CgroupnsMode"], host["Isolation"]) == (
        "host", "private", "default")
    if device:
        assert host["BlkioDeviceReadBps"] == [{"Path": device, "Rate": 1 << 20}]
        assert host["BlkioDeviceWriteIOps"] == [{"Path": device, "Rate": 30}]
    labels = web.attrs["Config"]["Labels"]
    assert (labels["team"], labels["tier"]) == ("core", "own")
    # use_api_socket: the engine's socket, and a docker CLI config for its credentials
    assert "/var/run/docker.sock:/var/run/docker.sock" in host["Binds"]
    assert web.exec_run(["test", "-S", "/var/run/docker.sock"]).exit_code == 0
    config = web.exec_run(["cat", "/root/.docker/config.json"])
    assert config.exit_code == 0 and b'"auths"' in config.output
    # uts: host: the container has the machine's hostname
    assert web.exec_run(["hostname"]).output.decode().strip() == os.uname().nodename
    if _cgroup_v1():  # the limits as the kernel holds them
        inside = web.exec_run(["cat", "/sys/fs/cgroup/memory/memory.swappiness",
                               "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"]).output.split()
        assert inside == [b"20", b"50000"]
    # a second up changes nothing
    again = run(tmp_path, project_name, "up", "-d")
    assert "recreate" not in again.stderr


@pytest.mark.parametrize(("body", "words"), [
    ("annotations: {com.example.a: b}",
     "services.web.annotations needs Docker engine API 1.43 or later; this engine speaks API"),
    ("cpu_count: 2",
     "service web: cpu_count applies to Windows containers only; this engine runs linux "
     "containers (use cpus: on Linux)"),
    ("credential_spec: {file: spec.json}",
     "service web: credential_spec applies to Windows containers only"),
    ("blkio_config: {weight: 300}", "-web-1: the engine cannot apply blkio_config"),
    ("storage_opt: {size: 1G}", "-web-1"),
])
def test_what_this_engine_cannot_apply_is_refused_naming_the_key(
        tmp_path: Path, project_name: str, client: docker.DockerClient, body: str,
        words: str) -> None:
    info = client.info()
    if "blkio" in body and info.get("CgroupVersion") == "2":
        pytest.skip("this engine's kernel may apply a Block I/O weight")
    if "storage_opt" in body and info.get("Driver") != "overlay2":
        pytest.skip("storage_opt is refused by overlay2 on a filesystem without quotas")
    write(tmp_path, f"""
        services:
          web:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            {body}
    """)
    result = run(tmp_path, project_name, "up", "-d", check=False)
    assert result.returncode != 0
    assert words in result.stderr
    if "storage_opt" in body:  # the engine's own words, with the container (and service)
        assert "storage-opt" in result.stderr.lower() or "storage" in result.stderr.lower()
    # nothing half-made is left running
    assert not client.containers.list(filters={"label": f"{L.PROJECT}={project_name}"})


def test_external_secrets_and_old_engine_networks_are_refused(
        tmp_path: Path, project_name: str) -> None:
    write(tmp_path, f"""
        services:
          web:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            secrets: [token]
        secrets:
          token: {{external: true}}
    """)
    result = run(tmp_path, project_name, "up", "-d", check=False)
    assert result.returncode != 0
    # preflight finds it first, with its line; nothing is created
    assert "secrets.token: secret token is external: only a swarm keeps secrets" \
        in result.stderr and "nothing was changed" in result.stderr
    write(tmp_path, f"""
        services:
          web:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            networks: [v6only]
        networks:
          v6only: {{enable_ipv4: false}}
    """)
    result = run(tmp_path, project_name, "up", "-d", check=False)
    assert result.returncode != 0
    assert ("networks.v6only.enable_ipv4 needs Docker engine API 1.47 or later; this engine "
            "speaks API 1.4" in result.stderr)


def test_attach_false_is_not_streamed_by_an_attached_up(tmp_path: Path,
                                                        project_name: str) -> None:
    write(tmp_path, """
        services:
          loud:
            image: busybox:local
            command: ["sh", "-c", "sleep 1; echo loud-line"]
          quiet:
            image: busybox:local
            command: ["sh", "-c", "echo quiet-line"]
            attach: false
    """)
    result = run(tmp_path, project_name, "up", timeout=60)
    assert "loud-line" in result.stdout
    assert "quiet-line" not in result.stdout
    shown = run(tmp_path, project_name, "logs", "quiet")  # it ran; only not streamed
    assert "quiet-line" in shown.stdout


@pytest.fixture()
def registry_image(client: docker.DockerClient, project_name: str) -> Iterator[tuple[str, Any]]:
    """busybox:local pushed to a local registry as ``127.0.0.1:<port>/<project>/app:1``; the
    tag and stackup's pull record of it are removed afterwards."""
    with RegistryServer() as registry:
        ref = f"127.0.0.1:{registry.port}/{project_name}/app:1"
        client.images.get("busybox:local").tag(ref)
        try:
            for line in client.api.push(ref, stream=True, decode=True):
                assert "error" not in line, line
            yield ref, registry
        finally:
            for name in (ref,):
                try:
                    client.images.remove(name, force=True)
                except docker.errors.APIError:
                    pass
            try:
                client.volumes.get(L.pull_record_name(ref)).remove(force=True)
            except docker.errors.APIError:
                pass


def _record(client: docker.DockerClient, ref: str, seconds_ago: float) -> None:
    """Set stackup's record of the last pull of ``ref`` on the engine (as if pulled then)."""
    try:
        client.volumes.get(L.pull_record_name(ref)).remove(force=True)
    except docker.errors.NotFound:
        pass
    client.volumes.create(L.pull_record_name(ref), labels={
        L.PULLED_REF: ref, L.PULLED_AT: f"{time.time() - seconds_ago:.0f}"})


def _manifest_gets(registry: RegistryServer) -> int:
    return sum(1 for r in registry.store.requests
               if r.startswith(("GET", "HEAD")) and "/manifests/" in r)


def test_pull_policy_daily_pulls_when_due_and_keeps_the_time_on_the_engine(
        tmp_path: Path, project_name: str, client: docker.DockerClient,
        registry_image: tuple[str, Any]) -> None:
    ref, registry = registry_image
    write(tmp_path, f"""
        services:
          web:
            image: {ref}
            pull_policy: daily
            command: ["sh", "-c", "{LOOP}"]
            stop_grace_period: 1s
    """)
    # never pulled by stackup here (only tagged): due
    plan = run(tmp_path, project_name, "plan")
    assert "pull_policy: daily: never pulled by stackup on this engine" in plan.stdout
    first = run(tmp_path, project_name, "up", "-d")
    assert _manifest_gets(registry) >= 1, first.stderr
    record = client.volumes.get(L.pull_record_name(ref)).attrs["Labels"]
    assert record[L.PULLED_REF] == ref and time.time() - float(record[L.PULLED_AT]) < 120
    # pulled a moment ago: not due, no request reaches the registry
    seen = _manifest_gets(registry)
    run(tmp_path, project_name, "up", "-d")
    assert _manifest_gets(registry) == seen
    # a day and more since: due again
    _record(client, ref, 25 * 3600)
    plan = run(tmp_path, project_name, "plan")
    assert "pull_policy: daily: last pulled 1d ago" in plan.stdout
    run(tmp_path, project_name, "up", "-d")
    assert _manifest_gets(registry) > seen


def test_a_due_pull_without_a_registry_fails_clearly_and_a_fresh_one_does_not_try(
        tmp_path: Path, project_name: str, client: docker.DockerClient) -> None:
    from tests.integration.helpers import free_port

    ref = f"127.0.0.1:{free_port()}/{project_name}/app:1"  # nothing listens there
    client.images.get("busybox:local").tag(ref)
    try:
        write(tmp_path, f"""
            services:
              web:
                image: {ref}
                pull_policy: every_1h
                command: ["sh", "-c", "{LOOP}"]
                stop_grace_period: 1s
        """)
        _record(client, ref, 60)  # pulled a minute ago: not due
        run(tmp_path, project_name, "up", "-d")
        _record(client, ref, 2 * 3600)  # two hours ago: due
        failed = run(tmp_path, project_name, "up", "-d", check=False)
        assert failed.returncode != 0
        assert f"cannot pull image {ref}" in failed.stderr
    finally:
        client.images.remove(ref, force=True)
        try:
            client.volumes.get(L.pull_record_name(ref)).remove(force=True)
        except docker.errors.NotFound:
            pass


def test_commit_and_export_hold_a_file_made_in_the_container(
        tmp_path: Path, project_name: str, client: docker.DockerClient) -> None:
    write(tmp_path, f"""
        services:
          web:
            image: busybox:local
            command: ["sh", "-c", "echo made-inside > /made-here; {LOOP}"]
            stop_grace_period: 1s
    """)
    run(tmp_path, project_name, "up", "-d")
    web = client.containers.get(f"{project_name}-web-1")
    for _ in range(50):
        if web.exec_run(["test", "-f", "/made-here"]).exit_code == 0:
            break
        time.sleep(0.1)
    image = f"{project_name}-committed:1"
    try:
        made = run(tmp_path, project_name, "commit", "-a", "Tester <t@example.com>",
                   "-m", "from a test", "-c", "ENV COMMITTED=yes", "web", image)
        committed = client.images.get(image)
        assert made.stdout.strip() == committed.id
        assert committed.attrs["Author"] == "Tester <t@example.com>"
        assert committed.attrs["Comment"] == "from a test"
        assert "COMMITTED=yes" in committed.attrs["Config"]["Env"]
        out = client.containers.run(image, ["cat", "/made-here"], remove=True)
        assert out == b"made-inside\n"
    finally:
        try:
            client.images.remove(image, force=True)
        except docker.errors.APIError:
            pass
    target = tmp_path / "web.tar"
    run(tmp_path, project_name, "export", "-o", str(target), "web")
    with tarfile.open(target) as tar:
        assert tar.extractfile("made-here").read() == b"made-inside\n"  # type: ignore[union-attr]
    assert not (tmp_path / "web.tar.part").exists()
    piped = subprocess.run([STACKUP, "-p", project_name, "-f", str(tmp_path / "compose.yaml"),
                            "export", "web"], capture_output=True, timeout=120)
    assert piped.returncode == 0
    with tarfile.open(fileobj=io.BytesIO(piped.stdout)) as tar:
        assert "made-here" in tar.getnames()
    missing = run(tmp_path, project_name, "export", "--index", "2", "-o", str(target), "web",
                  check=False)
    assert missing.returncode != 0 and "service web has no container number 2" in missing.stderr
