"""Choosing the engine: DOCKER_HOST > DOCKER_CONTEXT > the docker CLI's current context."""

import hashlib
import json
from pathlib import Path

import pytest

from stackup.adapters.docker.context import current_context, engine_environ
from stackup.core.errors import EngineUnavailable


def _context(config: Path, name: str, host: str, *, tls: bool = False,
             skip_verify: bool = False) -> None:
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = config / "contexts" / "meta" / digest
    meta.mkdir(parents=True)
    endpoint = {"Host": host, "SkipTLSVerify": skip_verify}
    (meta / "meta.json").write_text(json.dumps(
        {"Name": name, "Metadata": {}, "Endpoints": {"docker": endpoint}}))
    if tls:
        certs = config / "contexts" / "tls" / digest / "docker"
        certs.mkdir(parents=True)
        for part in ("ca.pem", "cert.pem", "key.pem"):
            (certs / part).write_text("x")


def test_current_context_from_config(tmp_path: Path) -> None:
    env = {"DOCKER_CONFIG": str(tmp_path)}
    assert current_context(env) == "default"
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "remote"}))
    assert current_context(env) == "remote"
    assert current_context({**env, "DOCKER_CONTEXT": "other"}) == "other"


def test_context_gives_docker_host(tmp_path: Path) -> None:
    _context(tmp_path, "remote", "tcp://10.0.0.5:2376", tls=True)
    _context(tmp_path, "plain", "unix:///run/other.sock")
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "remote"}))
    env = engine_environ({"DOCKER_CONFIG": str(tmp_path)})
    assert env["DOCKER_HOST"] == "tcp://10.0.0.5:2376"
    assert env["DOCKER_TLS_VERIFY"] == "1"
    assert env["DOCKER_CERT_PATH"].endswith("/docker")
    env = engine_environ({"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTEXT": "plain"})
    assert env["DOCKER_HOST"] == "unix:///run/other.sock" and "DOCKER_TLS_VERIFY" not in env
    # DOCKER_HOST wins over every context
    env = engine_environ({"DOCKER_CONFIG": str(tmp_path), "DOCKER_HOST": "unix:///x.sock"})
    assert env["DOCKER_HOST"] == "unix:///x.sock"
    # the default context leaves the environment alone
    assert "DOCKER_HOST" not in engine_environ({"DOCKER_CONFIG": str(tmp_path),
                                                "DOCKER_CONTEXT": "default"})


def test_unknown_context_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable) as err:
        engine_environ({"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTEXT": "nope"})
    assert "docker context 'nope' not found (from DOCKER_CONTEXT)" in err.value.summary
    assert "docker context ls" in err.value.detail


def test_home_docker_dir_is_the_default(tmp_path: Path) -> None:
    _context(tmp_path / ".docker", "remote", "ssh://me@host")
    (tmp_path / ".docker" / "config.json").write_text(json.dumps({"currentContext": "remote"}))
    assert engine_environ({"HOME": str(tmp_path)})["DOCKER_HOST"] == "ssh://me@host"
