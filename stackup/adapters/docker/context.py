"""Which Docker engine to talk to: ``DOCKER_HOST``, else the docker CLI's context.

Pipeline position: ``app.wiring.connect`` turns the process environment into the one the Docker adapter
reads (``DOCKER_HOST``, ``DOCKER_TLS_VERIFY``, ``DOCKER_CERT_PATH``). Precedence, as the docker
CLI has it: ``DOCKER_HOST`` > ``DOCKER_CONTEXT`` > ``currentContext`` in
``$DOCKER_CONFIG/config.json`` (``~/.docker`` by default) > the default socket. A context's
endpoint is read from ``contexts/meta/<sha256 of its name>/meta.json`` and its TLS material from
``contexts/tls/<same>/docker/``. Reads files, never the process environment itself.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from hashlib import sha256
from typing import Any

from stackup.core.errors import EngineUnavailable

DEFAULT_CONTEXT = "default"


def config_dir(environ: Mapping[str, str]) -> str:
    """The docker CLI's configuration directory."""
    if environ.get("DOCKER_CONFIG"):
        return environ["DOCKER_CONFIG"]
    home = environ.get("HOME") or os.path.expanduser("~")
    return os.path.join(home, ".docker")


def current_context(environ: Mapping[str, str]) -> str:
    """The context in use: ``DOCKER_CONTEXT``, else config.json's ``currentContext``."""
    if environ.get("DOCKER_CONTEXT"):
        return environ["DOCKER_CONTEXT"]
    path = os.path.join(config_dir(environ), "config.json")
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except FileNotFoundError:
        return DEFAULT_CONTEXT
    except (OSError, ValueError) as exc:
        raise EngineUnavailable(f"cannot read the docker CLI configuration {path}",
                                detail=str(exc)) from None
    name = config.get("currentContext") if isinstance(config, dict) else None
    return name if isinstance(name, str) and name else DEFAULT_CONTEXT


def _meta(environ: Mapping[str, str], name: str) -> dict[str, Any]:
    digest = sha256(name.encode()).hexdigest()
    path = os.path.join(config_dir(environ), "contexts", "meta", digest, "meta.json")
    source = "DOCKER_CONTEXT" if environ.get("DOCKER_CONTEXT") else "the docker CLI configuration"
    try:
        with open(path, encoding="utf-8") as handle:
            meta = json.load(handle)
    except FileNotFoundError:
        raise EngineUnavailable(f"docker context {name!r} not found (from {source})",
                                detail=f"Looked for {path}. `docker context ls` lists the "
                                       f"contexts; `docker context use default` or DOCKER_HOST "
                                       f"selects another engine.") from None
    except (OSError, ValueError) as exc:
        raise EngineUnavailable(f"cannot read docker context {name!r}",
                                detail=f"{path}: {exc}") from None
    return meta if isinstance(meta, dict) else {}


def engine_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with ``DOCKER_HOST`` (and the TLS variables) of the context in use."""
    env = dict(environ)
    if env.get("DOCKER_HOST"):
        return env
    name = current_context(env)
    if name == DEFAULT_CONTEXT:
        return env
    meta = _meta(env, name)
    endpoint = (meta.get("Endpoints") or {}).get("docker") or {}
    host = endpoint.get("Host") if isinstance(endpoint, dict) else None
    if not isinstance(host, str) or not host:
        raise EngineUnavailable(f"docker context {name!r} has no docker endpoint",
                                detail="Its meta.json names no Endpoints.docker.Host.")
    env["DOCKER_HOST"] = host
    digest = sha256(name.encode()).hexdigest()
    tls = os.path.join(config_dir(env), "contexts", "tls", digest, "docker")
    if os.path.isfile(os.path.join(tls, "cert.pem")) or os.path.isfile(os.path.join(tls, "ca.pem")):
        env["DOCKER_CERT_PATH"] = tls
        if not endpoint.get("SkipTLSVerify"):
            env["DOCKER_TLS_VERIFY"] = "1"
    return env
