"""Remote engines: stackup through ``ssh://`` and through ``tcp://`` with TLS, and through docker
contexts pointing at each, as a pipeline reaches a deploy host.

How the engines are reached here (each fixture makes its own and removes it):

- **ssh**: a private ``sshd`` (Debian's ``openssh-server``, installed by the fixture when
  absent) on 127.0.0.1 and a free port, with its own host key and a generated client key in its
  ``authorized_keys``; stopped by its pid. The client side is the real ``ssh`` command, run as
  the docker CLI runs it (``engine/docker/ssh.py``); the remote command is
  ``docker system dial-stdio``, which reaches the machine's engine. OpenSSH reads ``~/.ssh``
  from the password database, not from ``$HOME``, so instead of touching the user's files the
  commands get a ``PATH`` whose first ``ssh`` is a two-line wrapper adding ``-F`` with the
  test's own ssh config (host aliases, identity, known hosts, ``BatchMode``): what a user's
  ``~/.ssh/config`` would say, read by the same client.
- **TLS**: a second dockerd of the test's own (the fixture of ``test_faults.py``'s kind: own
  data root, own socket, ``unshare --net``) listening with ``--tlsverify`` on
  ``tcp://127.0.0.1:2376`` *inside its network namespace*, with CA, server and client
  certificates made by the test with ``openssl``. A listener in another namespace cannot be
  reached from this one, so ``socat`` (installed when absent) listens on a free port of the
  host's 127.0.0.1 and, per connection, runs ``nsenter --net=/proc/PID/ns/net socat STDIO
  TCP:127.0.0.1:2376``: the TLS session is end to end between stackup and that dockerd, and a
  half-close (the end of an exec's stdin) is passed on as such (``-t``).
- **expired certificate**: a TLS server of the test's own on 127.0.0.1 presenting a
  certificate that expired in 2020 (signed by the test CA with ``openssl ca``).

Through each of ssh and TLS: ``plan --out`` / ``apply``, ``up -d`` (nothing to do), ``ps``,
``logs``, ``exec -T`` with stdin, ``cp`` both ways, the secret and config files in the container,
``down -v``. A wrong address, an ssh host refusing the key, an expired certificate: one error
line naming the address and the reason, exit 1, no traceback, nothing created.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest

from tests.integration.helpers import STACKUP, free_port

pytestmark = [pytest.mark.engine, pytest.mark.slow]

SERVICE_LOOP = "trap 'exit 0' TERM; echo web started; while :; do sleep 0.2; done"


# --- tools the fixtures need, installed when absent (CI starts on a fresh machine) ------------


def _ensure(path: str, package: str) -> None:
    """``path`` exists, else ``apt-get install -y package`` (after ``apt-get update`` if the
    first try fails); skip when that is impossible here (not root, no apt)."""
    if os.path.exists(path):
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(f"{path} is missing and cannot be installed here (needs root and apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", package]
    if subprocess.run(install, capture_output=True, env=env, timeout=600).returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True, env=env, timeout=600)
        done = subprocess.run(install, capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
    assert os.path.exists(path), f"{package} installed no {path}"


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_port(port: int, process: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not listen:\n{log.read_text(errors='replace')}")
            time.sleep(0.1)


# --- certificates ------------------------------------------------------------------------------


def _openssl(folder: Path, *args: str) -> None:
    done = subprocess.run(["openssl", *args], cwd=folder, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, f"openssl {' '.join(args)}:\n{done.stderr}"


def make_certificates(folder: Path) -> None:
    """ca.pem; server-cert.pem/server-key.pem (127.0.0.1, localhost); cert.pem/key.pem (a
    client); expired-cert.pem/expired-key.pem (a server certificate valid only in 2020)."""
    folder.mkdir(parents=True, exist_ok=True)
    _openssl(folder, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=stackup test CA", "-keyout", "ca-key.pem", "-out", "ca.pem")
    (folder / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                       "extendedKeyUsage=serverAuth\n")
    (folder / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name, ext in (("server", "server.ext"), ("client", "client.ext")):
        _openssl(folder, "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                 "-keyout", f"{name}-key.pem", "-out", f"{name}.csr")
        _openssl(folder, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey",
                 "ca-key.pem", "-CAcreateserial", "-days", "2", "-extfile", ext,
                 "-out", f"{name}-cert.pem")
    shutil.copy(folder / "client-cert.pem", folder / "cert.pem")
    shutil.copy(folder / "client-key.pem", folder / "key.pem")
    # an expired one: `openssl x509` cannot date a certificate in the past, `openssl ca` can
    (folder / "index.txt").write_text("")
    (folder / "serial").write_text("1000\n")
    (folder / "ca.cnf").write_text(textwrap.dedent(f"""\
        [ca]
        default_ca = test
        [test]
        dir = {folder}
        database = $dir/index.txt
        new_certs_dir = $dir
        serial = $dir/serial
        default_md = sha256
        policy = anything
        copy_extensions = none
        x509_extensions = ext
        [anything]
        commonName = supplied
        [ext]
        subjectAltName = IP:127.0.0.1,DNS:localhost
        extendedKeyUsage = serverAuth
        """))
    _openssl(folder, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=expired",
             "-keyout", "expired-key.pem", "-out", "expired.csr")
    _openssl(folder, "ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile",
             "ca-key.pem", "-in", "expired.csr", "-out", "expired-cert.pem", "-notext",
             "-startdate", "20200101000000Z", "-enddate", "20200201000000Z")


# --- the engines -------------------------------------------------------------------------------


@dataclass
class Remote:
    """How to reach one engine: the environment stackup runs with, and an SDK client for the
    test's own checks."""

    host: str
    env: dict[str, str]
    check: docker.APIClient
    extra: dict[str, str] = field(default_factory=dict)


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DOCKER_") and k not in ("SSH_AUTH_SOCK", "SSH_AGENT_PID")}
    return env


@pytest.fixture(scope="module")
def ssh_engine(docker_engine: object) -> Iterator[Remote]:
    _ensure("/usr/sbin/sshd", "openssh-server")
    if shutil.which("ssh") is None:
        _ensure("/usr/bin/ssh", "openssh-client")
    root = Path(tempfile.mkdtemp(prefix="stk-ssh-"))
    os.chmod(root, 0o700)
    process = None
    try:
        for key in ("host_key", "client_key", "stranger_key"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                            str(root / key)], check=True, timeout=60)
        shutil.copy(root / "client_key.pub", root / "authorized_keys")
        port = free_port()
        user = os.environ.get("USER") or "root"
        (root / "sshd_config").write_text(textwrap.dedent(f"""\
            ListenAddress 127.0.0.1
            Port {port}
            HostKey {root}/host_key
            PidFile {root}/sshd.pid
            AuthorizedKeysFile {root}/authorized_keys
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            PermitRootLogin prohibit-password
            StrictModes no
            UsePAM no
            """))
        host_pub = (root / "host_key.pub").read_text().split()
        (root / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
        (root / "ssh_config").write_text(textwrap.dedent(f"""\
            Host stackup-test-engine
                HostName 127.0.0.1
                Port {port}
                User {user}
                IdentityFile {root}/client_key
            Host stackup-test-stranger
                HostName 127.0.0.1
                Port {port}
                User {user}
                IdentityFile {root}/stranger_key
            Host 127.0.0.1
                IdentityFile {root}/client_key
            Host *
                IdentitiesOnly yes
                BatchMode yes
                StrictHostKeyChecking yes
                UserKnownHostsFile {root}/known_hosts
            """))
        bin_dir = root / "bin"
        bin_dir.mkdir()
        wrapper = bin_dir / "ssh"
        wrapper.write_text(f"#!/bin/sh\nexec {shutil.which('ssh')} -F {root}/ssh_config \"$@\"\n")
        wrapper.chmod(0o755)
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
        log = root / "sshd.log"
        with open(log, "ab") as out:
            process = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f",
                                        str(root / "sshd_config")],
                                       stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
        _wait_port(port, process, "sshd", log)
        env = {**_base_env(), "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
               "DOCKER_HOST": "ssh://stackup-test-engine"}
        check = docker.APIClient(version="auto")  # dial-stdio reaches the machine's engine
        try:
            yield Remote("ssh://stackup-test-engine", env, check,
                         {"port": str(port), "user": user, "root": str(root)})
        finally:
            check.close()
    finally:
        _stop(process)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def certificates() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="stk-certs-"))
    try:
        make_certificates(folder)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def tls_engine(docker_engine: object, certificates: Path) -> Iterator[Remote]:
    if shutil.which("dockerd") is None or shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("a second dockerd needs the dockerd and unshare binaries and root")
    _ensure("/usr/bin/socat", "socat")
    root = Path(tempfile.mkdtemp(prefix="stk-tls-", dir="/var/lib"))
    dockerd = relay = None
    own = None
    try:
        (root / "run").mkdir()
        log = root / "dockerd.log"
        sock = f"unix://{root}/docker.sock"
        with open(log, "ab") as out:
            # a new network namespace has its loopback down: up first, then dockerd (exec'd,
            # so the pid is dockerd's, and /proc/PID/ns/net its namespace)
            dockerd = subprocess.Popen(
                ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh",
                 "dockerd", "--host", sock,
                 "--host", "tcp://127.0.0.1:2376", "--tlsverify",
                 "--tlscacert", str(certificates / "ca.pem"),
                 "--tlscert", str(certificates / "server-cert.pem"),
                 "--tlskey", str(certificates / "server-key.pem"),
                 "--data-root", str(root / "data"), "--exec-root", str(root / "run"),
                 "--pidfile", str(root / "dockerd.pid"), "--iptables=false"],
                stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True)
        own = docker.APIClient(base_url=sock, version="1.41", timeout=120)
        deadline = time.monotonic() + 60
        while True:
            try:
                own.ping()
                break
            except Exception:  # noqa: BLE001 - not up yet
                if dockerd.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the TLS dockerd did not start:\n" + log.read_text()[-2000:])
                time.sleep(0.2)
        shared = docker.APIClient(version="1.41", timeout=120)
        try:
            own.load_image(b"".join(shared.get_image("busybox:local")))
        finally:
            shared.close()
        port = free_port()
        relay_log = root / "socat.log"
        with open(relay_log, "ab") as out:
            relay = subprocess.Popen(
                # -t: after one direction ends (a half-close: the end of an exec's stdin),
                # carry the other on until it ends too (socat's default gives it 0.5 s)
                ["socat", "-t", "600", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork",
                 f"EXEC:nsenter --net=/proc/{dockerd.pid}/ns/net socat -t 600 STDIO "
                 f"TCP\\:127.0.0.1\\:2376"],
                stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True)
        _wait_port(port, relay, "socat", relay_log)
        host = f"tcp://127.0.0.1:{port}"
        env = {**_base_env(), "DOCKER_HOST": host, "DOCKER_TLS_VERIFY": "1",
               "DOCKER_CERT_PATH": str(certificates)}
        yield Remote(host, env, own)
    finally:
        _stop(relay)
        _stop(dockerd)
        if own is not None:
            own.close()
        shutil.rmtree(root, ignore_errors=True)


# --- what runs through each --------------------------------------------------------------------


def stackup(folder: Path, project: str, env: dict[str, str], *args: str, check: bool = True,
            stdin: str | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([STACKUP, "-p", project, "--progress", "plain", "-f",
                             str(folder / "compose.yaml"), *args], input=stdin,
                            capture_output=True, text=True, env=env, cwd=folder,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"stackup {' '.join(args)} exited {result.returncode}\n"
                             f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


def write_stack(folder: Path) -> None:
    (folder / "token.txt").write_text("s3cret-token\n")
    (folder / "settings.ini").write_text("[app]\nmode = remote\n")
    (folder / "compose.yaml").write_text(textwrap.dedent(f"""\
        services:
          web:
            image: busybox:local
            command: ["sh", "-c", "{SERVICE_LOOP}"]
            stop_grace_period: 2s
            volumes: [data:/data]
            secrets: [token]
            configs:
              - source: settings
                target: /etc/settings.ini
        volumes:
          data: {{}}
        secrets:
          token: {{file: ./token.txt}}
        configs:
          settings: {{file: ./settings.ini}}
        """))


def labelled(check: docker.APIClient, project: str) -> tuple[list[str], list[str]]:
    """Names of the project's containers and volumes on that engine."""
    label = {"label": f"io.stackup.project={project}"}
    containers = [c["Names"][0].lstrip("/") for c in check.containers(all=True, filters=label)]
    volumes = [v["Name"] for v in (check.volumes(filters=label) or {}).get("Volumes") or []]
    return containers, volumes


def full_cycle(remote: Remote, folder: Path, project: str) -> None:
    write_stack(folder)
    env = remote.env
    try:
        saved = stackup(folder, project, env, "plan", "--out", "plan.json")
        assert "create" in saved.stdout, saved.stdout
        stackup(folder, project, env, "apply", "plan.json")
        containers, volumes = labelled(remote.check, project)
        assert containers == [f"{project}-web-1"] and volumes == [f"{project}_data"]
        assert remote.check.inspect_container(containers[0])["State"]["Running"]

        again = stackup(folder, project, env, "up", "-d")
        assert f"Nothing to change: {project} is up to date." in again.stderr, again
        ps = stackup(folder, project, env, "ps")
        [row] = [line for line in ps.stdout.splitlines() if line.startswith(f"{project}-web-1 ")]
        assert " Up " in row, ps.stdout
        deadline = time.monotonic() + 20
        while "web started" not in (logs := stackup(folder, project, env, "logs", "web").stdout):
            assert time.monotonic() < deadline, logs
            time.sleep(0.3)

        secret = stackup(folder, project, env, "exec", "-T", "web", "cat", "/run/secrets/token")
        assert secret.stdout == "s3cret-token\n"
        config = stackup(folder, project, env, "exec", "-T", "web", "cat", "/etc/settings.ini")
        assert config.stdout == "[app]\nmode = remote\n"
        piped = stackup(folder, project, env, "exec", "-T", "web", "sh", "-c",
                        "cat > /data/piped.txt && wc -c < /data/piped.txt",
                        stdin="through stdin\n" * 1000)
        assert piped.stdout.strip() == str(len("through stdin\n") * 1000), piped
        failed = stackup(folder, project, env, "exec", "-T", "web", "sh", "-c", "exit 7",
                         check=False)
        assert failed.returncode == 7

        (folder / "to-container.txt").write_text("copied in\n")
        stackup(folder, project, env, "cp", "to-container.txt", "web:/data/in.txt")
        inside = stackup(folder, project, env, "exec", "-T", "web", "cat", "/data/in.txt")
        assert inside.stdout == "copied in\n"
        stackup(folder, project, env, "cp", "web:/data/piped.txt", "from-container.txt")
        assert (folder / "from-container.txt").read_text() == "through stdin\n" * 1000

        stackup(folder, project, env, "down", "-v")
        assert labelled(remote.check, project) == ([], [])
    finally:
        stackup(folder, project, env, "down", "-v", "-t", "0", check=False)


def test_through_ssh(ssh_engine: Remote, tmp_path: Path, project_name: str) -> None:
    full_cycle(ssh_engine, tmp_path, project_name)


def test_through_tls(tls_engine: Remote, tmp_path: Path, project_name: str) -> None:
    full_cycle(tls_engine, tmp_path, project_name)


def test_ssh_address_with_user_and_port(ssh_engine: Remote, tmp_path: Path,
                                        project_name: str) -> None:
    """``ssh://user@host:port``: the user and port from the address, the rest (key, known
    hosts) from the ssh client's configuration."""
    host = f"ssh://{ssh_engine.extra['user']}@127.0.0.1:{ssh_engine.extra['port']}"
    env = {**ssh_engine.env, "DOCKER_HOST": host}
    write_stack(tmp_path)
    try:
        stackup(tmp_path, project_name, env, "up", "-d")
        assert labelled(ssh_engine.check, project_name)[0] == [f"{project_name}-web-1"]
    finally:
        stackup(tmp_path, project_name, env, "down", "-v", "-t", "0", check=False)
    assert labelled(ssh_engine.check, project_name) == ([], [])


def _context(config: Path, name: str, docker_arg: str, env: dict[str, str]) -> None:
    done = subprocess.run(["docker", "context", "create", name, "--docker", docker_arg],
                          env={**env, "DOCKER_CONFIG": str(config)}, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_docker_contexts_pointing_at_ssh_and_tls(ssh_engine: Remote, tls_engine: Remote,
                                                 certificates: Path, tmp_path: Path,
                                                 project_name: str) -> None:
    """Contexts made by the docker CLI (``docker context create``), selected by
    ``DOCKER_CONTEXT`` and by ``docker context use``: stackup reaches the same engines."""
    if shutil.which("docker") is None:
        pytest.skip("docker context create needs the docker CLI")
    config = tmp_path / "docker-config"
    config.mkdir()
    _context(config, "over-ssh", "host=ssh://stackup-test-engine", ssh_engine.env)
    _context(config, "over-tls", f"host={tls_engine.host},ca={certificates}/ca.pem,"
             f"cert={certificates}/cert.pem,key={certificates}/key.pem", tls_engine.env)
    folder = tmp_path / "stack"
    folder.mkdir()
    write_stack(folder)
    base = {k: v for k, v in ssh_engine.env.items() if k != "DOCKER_HOST"}
    base["DOCKER_CONFIG"] = str(config)
    for name, remote in (("over-ssh", ssh_engine), ("over-tls", tls_engine)):
        env = {**base, "DOCKER_CONTEXT": name}
        try:
            stackup(folder, project_name, env, "up", "-d")
            assert labelled(remote.check, project_name)[0] == [f"{project_name}-web-1"]
            ps = stackup(folder, project_name, env, "ps")
            assert f"{project_name}-web-1" in ps.stdout
        finally:
            stackup(folder, project_name, env, "down", "-v", "-t", "0", check=False)
        assert labelled(remote.check, project_name) == ([], [])
    # the docker CLI's current context (config.json), no variable
    subprocess.run(["docker", "context", "use", "over-tls"], env={**base}, check=True,
                   capture_output=True, timeout=60)
    try:
        stackup(folder, project_name, base, "up", "-d")
        assert labelled(tls_engine.check, project_name)[0] == [f"{project_name}-web-1"]
        assert labelled(ssh_engine.check, project_name) == ([], [])  # not the machine's engine
    finally:
        stackup(folder, project_name, base, "down", "-v", "-t", "0", check=False)


# --- what fails, fails clearly ------------------------------------------------------------------


class ExpiredServer:
    """A TLS server on 127.0.0.1 presenting a certificate that expired in 2020."""

    def __init__(self, certificates: Path) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(certificates / "expired-cert.pem",
                                     certificates / "expired-key.pem")
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                conn.close()

    def close(self) -> None:
        self.listener.close()
        self.thread.join(5)


def assert_clear_failure(result: subprocess.CompletedProcess[str], address: str,
                         reason: str) -> None:
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: cannot reach the Docker engine at {address}: {reason}"], \
        result.stderr


def test_unreachable_engines_fail_with_one_clear_error(ssh_engine: Remote, certificates: Path,
                                                       tmp_path: Path,
                                                       project_name: str) -> None:
    write_stack(tmp_path)
    closed = f"tcp://127.0.0.1:{free_port()}"
    server = ExpiredServer(certificates)
    expired = f"tcp://127.0.0.1:{server.port}"
    try:
        cases = [
            ({"DOCKER_HOST": closed}, closed, "connection refused"),
            ({"DOCKER_HOST": "unix:///nonexistent/docker.sock"},
             "unix:///nonexistent/docker.sock", "no such socket"),
            ({"DOCKER_HOST": "ssh://stackup-test-stranger"}, "ssh://stackup-test-stranger",
             f"ssh: {ssh_engine.extra['user']}@127.0.0.1: Permission denied (publickey)."),
            ({"DOCKER_HOST": expired, "DOCKER_TLS_VERIFY": "1",
              "DOCKER_CERT_PATH": str(certificates)}, expired, "TLS: certificate has expired"),
        ]
        for variables, address, reason in cases:
            env = {**{k: v for k, v in ssh_engine.env.items() if k != "DOCKER_HOST"},
                   **variables}
            for command in (("up", "-d"), ("ps",)):
                result = stackup(tmp_path, project_name, env, *command, check=False,
                                 timeout=60)
                assert_clear_failure(result, address, reason)
    finally:
        server.close()
    assert labelled(ssh_engine.check, project_name) == ([], [])  # nothing was made
