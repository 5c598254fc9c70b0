"""``ssh://[user@]host[:port]``: the engine reached through the ``ssh`` command, as the docker CLI
reaches it.

Pipeline position: ``client.make_api`` mounts ``SSHAdapter`` on the SDK client (``APIClient`` is
a ``requests.Session``; ``mount`` is how a session is given a transport) when ``DOCKER_HOST`` is
an ``ssh://`` address; every engine call then goes through the SDK as for any other address.

Each HTTP connection is one ``ssh [-l USER] [-p PORT] -T -- HOST docker system dial-stdio``
process (the docker CLI's command), its stdin and stdout one end of a socket pair: so the
user's ``~/.ssh/config``, agent and known hosts apply, connections are kept alive and pooled,
and a hijacked stream (``exec``, ``attach``) half-closes like a TCP one. The SDK's own ssh
transport is not used: it cannot be imported without paramiko, whose import costs several times
the SDK's on every command, even with ``use_ssh_client``. What ssh says on stderr (an unknown
host, a refused key) becomes the error's reason (``SSHFailed``).
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import tempfile
import urllib.parse
from typing import IO, Any

import requests
import requests.adapters
import urllib3
import urllib3.connection
import urllib3.connectionpool


class SSHFailed(ConnectionError):
    """The ssh command ended without a connection to the engine; the message is ssh's own."""


def ssh_command(address: str) -> list[str]:
    """The command for ``ssh://[user@]host[:port]``, as the docker CLI builds it."""
    parts = urllib.parse.urlsplit(address)
    if parts.scheme != "ssh" or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError(f"not an ssh://[user@]host[:port] address: {address}")
    command = ["ssh"]
    if parts.username:
        command += ["-l", parts.username]
    if parts.port:
        command += ["-p", str(parts.port)]
    return [*command, "-T", "--", parts.hostname, "docker", "system", "dial-stdio"]


class SSHConnection(urllib3.connection.HTTPConnection):
    """An HTTP connection over one ssh process."""

    def __init__(self, *args: Any, command: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.command = command
        self.process: subprocess.Popen[bytes] | None = None
        self.stderr: IO[bytes] | None = None
        self.ended: str | None = None  # what ssh said when it failed

    def connect(self) -> None:
        self.ended = None
        ours, theirs = socket.socketpair()
        self.stderr = tempfile.TemporaryFile()
        try:
            # a session of its own, as the docker CLI starts it: Ctrl-C in the terminal
            # interrupts stackup, which ends its connections, not ssh in the middle of a call;
            # and with no terminal to ask on, ssh fails at once instead of prompting (keys come
            # from the agent or unencrypted files, as for the docker CLI)
            self.process = subprocess.Popen(self.command, stdin=theirs.fileno(),
                                            stdout=theirs.fileno(),
                                            stderr=self.stderr, start_new_session=True)
        except FileNotFoundError:
            ours.close()
            raise SSHFailed("no ssh client (install openssh-client)") from None
        finally:
            theirs.close()
        ours.settimeout(self.timeout if isinstance(self.timeout, (int, float)) else None)
        self.sock = ours

    def getresponse(self) -> Any:  # urllib3's HTTPResponse
        try:
            return super().getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError) as exc:
            # http.client has closed the connection by now (``close``: ssh's words kept)
            if self.ended is not None:
                raise SSHFailed(self.ended) from exc
            raise

    def close(self) -> None:
        """Close our end (ssh reads EOF and ends); wait for ssh, keeping why it ended when it
        said so on stderr."""
        super().close()
        process, self.process = self.process, None
        stderr, self.stderr = self.stderr, None
        if process is None:
            return
        try:
            code = process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait()
            code = None
        if stderr is not None:
            stderr.seek(0)
            lines = [line.strip() for line in stderr.read().decode("utf-8", "replace")
                     .splitlines() if line.strip() and not line.startswith("Warning: ")]
            stderr.close()
            if code:
                self.ended = lines[-1] if lines else f"ssh exited with status {code}"


class SSHConnectionPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = SSHConnection


class SSHAdapter(requests.adapters.HTTPAdapter):
    """Every request of the session it is mounted on goes over ssh to ``address``'s engine."""

    def __init__(self, address: str, *, max_pool_size: int, timeout: float) -> None:
        super().__init__()
        self.pool = SSHConnectionPool("localhost", maxsize=max_pool_size, timeout=timeout,
                                      command=ssh_command(address))

    def get_connection_with_tls_context(self, request: requests.PreparedRequest, verify: Any,
                                        proxies: Any = None, cert: Any = None
                                        ) -> SSHConnectionPool:
        return self.pool

    def get_connection(self, url: str | bytes, proxies: Any = None) -> SSHConnectionPool:
        return self.pool

    def request_url(self, request: requests.PreparedRequest, proxies: Any) -> str:
        return str(request.path_url)

    def close(self) -> None:
        self.pool.close()
        super().close()


__all__ = ["SSHAdapter", "SSHFailed", "ssh_command"]
