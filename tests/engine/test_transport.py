"""The one transport's pure parts: the ssh command for an address, and the reason an
unreachable engine's error gives (the engines themselves: tests/integration/
test_remote_engines.py)."""

from __future__ import annotations

import pytest
import requests

from stackup.adapters.docker.client import translate, unavailable
from stackup.adapters.docker.ssh import SSHFailed, ssh_command
from stackup.core.errors import EngineUnavailable


def test_the_ssh_command_is_the_docker_clis() -> None:
    assert ssh_command("ssh://deploy@build.example.org:2222") == [
        "ssh", "-l", "deploy", "-p", "2222", "-T", "--", "build.example.org",
        "docker", "system", "dial-stdio"]
    assert ssh_command("ssh://prod-host") == [
        "ssh", "-T", "--", "prod-host", "docker", "system", "dial-stdio"]
    with pytest.raises(ValueError):
        ssh_command("ssh://host/some/path")


def test_an_unreachable_engine_is_named_with_the_reason() -> None:
    refused = requests.exceptions.ConnectionError(
        "('Connection aborted.', ConnectionRefusedError(111, 'Connection refused'))")
    error = translate(refused, "cannot list", "tcp://10.0.0.5:2375")
    assert isinstance(error, EngineUnavailable)
    assert error.summary == "cannot reach the Docker engine at tcp://10.0.0.5:2375: " \
                            "connection refused"
    wrapped = requests.exceptions.ConnectionError(
        "Connection aborted.", SSHFailed("deploy@prod: Permission denied (publickey)."))
    assert unavailable("ssh://deploy@prod", wrapped).summary == (
        "cannot reach the Docker engine at ssh://deploy@prod: ssh: deploy@prod: Permission "
        "denied (publickey).")
    expired = requests.exceptions.SSLError(
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired")
    assert unavailable("tcp://h:2376", expired).summary == (
        "cannot reach the Docker engine at tcp://h:2376: TLS: certificate has expired")
