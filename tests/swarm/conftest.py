"""A real single-node swarm for the Swarm backend's tests, left again only by whoever made it.

- ``swarm`` (session): makes sure the shared engine is a swarm manager. When it is not, the
  fixture runs the equivalent of ``docker swarm init --advertise-addr 127.0.0.1`` and records
  that in a marker file. Every test session holds a shared lock on a lock file while it uses
  the swarm; at the end, a session that gets the lock exclusively (no other session still
  testing) and finds the marker leaves the swarm (``--force``) and removes ``docker_gwbridge``,
  so the engine is back as it was. A swarm that was there before is never left.
- ``swarm_project``: a unique project name; afterwards every service, secret, config, network and
  volume labelled with it is removed (test cleanup).
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
import uuid
from collections.abc import Iterator

import docker
import pytest

from stackup.core import labels

LOCK = os.path.join(tempfile.gettempdir(), "stackup-swarm-tests.lock")
MARKER = os.path.join(tempfile.gettempdir(), "stackup-swarm-tests.initialised")


def _active(api: docker.APIClient) -> bool:
    return (api.info().get("Swarm") or {}).get("LocalNodeState") == "active"


@pytest.fixture(scope="session")
def swarm(docker_engine: object) -> Iterator[docker.APIClient]:
    api = docker.APIClient(version="1.41", **docker.utils.kwargs_from_env())  # DOCKER_HOST too
    handle = open(LOCK, "a+")  # noqa: SIM115 - held for the whole session
    fcntl.flock(handle, fcntl.LOCK_EX)
    try:
        if not _active(api):
            try:
                api.init_swarm(advertise_addr="127.0.0.1", listen_addr="127.0.0.1:2377")
            except docker.errors.APIError as exc:  # another session made it meanwhile
                if not _active(api):
                    pytest.fail(f"cannot enable swarm mode: {exc}", pytrace=False)
            else:
                with open(MARKER, "w", encoding="utf-8") as marker:
                    marker.write(f"{os.getpid()}\n")
    finally:
        fcntl.flock(handle, fcntl.LOCK_SH)  # downgrade: others may test alongside
    try:
        yield api
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pass  # another session still tests on the swarm: the last one leaves it
        else:
            if os.path.exists(MARKER):
                _leave(api)
                os.unlink(MARKER)
        handle.close()
        api.close()


def _leave(api: docker.APIClient) -> None:
    api.leave_swarm(force=True)
    for _ in range(50):  # the bridge is removable once the swarm's sandboxes are gone
        try:
            api.remove_network("docker_gwbridge")
            return
        except docker.errors.NotFound:
            return
        except docker.errors.APIError:
            time.sleep(0.2)


@pytest.fixture()
def swarm_project(swarm: docker.APIClient) -> Iterator[str]:
    name = f"stks-{uuid.uuid4().hex[:8]}"
    yield name
    remove_swarm_project(swarm, name)


def remove_swarm_project(api: docker.APIClient, name: str) -> None:
    """Remove everything labelled with the project (test cleanup: errors ignored)."""
    label = {"label": labels.project_filter(name)}
    for service in api.services(filters=label):
        _quietly(api.remove_service, service["ID"])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and api.containers(
            all=True, filters={"label": f"com.docker.stack.namespace={name}"}):
        for c in api.containers(all=True, filters={"label": f"com.docker.stack.namespace={name}"}):
            if c["State"] != "running":
                _quietly(api.remove_container, c["Id"])
        time.sleep(0.3)
    for secret in api.secrets(filters=label):
        _quietly(api.remove_secret, secret["ID"])
    for config in api.configs(filters=label):
        _quietly(api.remove_config, config["ID"])
    for network in api.networks(filters=label):
        _quietly(api.remove_network, network["Id"])
    for volume in (api.volumes(filters=label) or {}).get("Volumes") or []:
        _quietly(api.remove_volume, volume["Name"])


def _quietly(call: object, *args: object) -> None:
    try:
        call(*args)  # type: ignore[operator]
    except docker.errors.APIError:
        pass
