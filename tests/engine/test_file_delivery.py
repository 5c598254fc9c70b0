"""Secret and config delivery on the real engine where it can fail: a read-only root filesystem.

Files are copied into the created container through the archive API; a read-only root refuses
that unless the target's directory is a volume. The failure names the service's container, the
secret and the reason, and leaves no half-made container behind.
"""

from __future__ import annotations

import pytest

from stackup.core import labels as L
from stackup.adapters.docker import DockerEngine
from stackup.core.errors import EngineError
from stackup.core.model import FileObject, FileReference, FrozenMap, Mount, Network, Project, Service

IMAGE = "busybox:local"


def _project(name: str, svc: Service) -> Project:
    return Project(name=name, working_dir="/tmp", services=FrozenMap({svc.name: svc}),
                   networks=FrozenMap({"default": Network("default", f"{name}_default")}),
                   secrets=FrozenMap({"tok": FileObject("tok", "tok", content="s3cr3t")}))


def _create(engine: DockerEngine, proj: Project, svc: Service) -> str:
    engine.create_network(proj.name, proj.networks["default"])
    return engine.create_container(proj, svc, 1, name=f"{proj.name}-{svc.name}-1",
                                   config_hash="h", config_json="{}", image=IMAGE)


def test_read_only_root_needs_a_volume_for_secrets(docker_engine: DockerEngine,
                                                   project_name: str) -> None:
    svc = Service("web", image=IMAGE, read_only=True, secrets=(FileReference("tok"),))
    proj = _project(project_name, svc)
    with pytest.raises(EngineError, match=r"secret tok \(/run/secrets/tok\).*read_only: true"):
        _create(docker_engine, proj, svc)
    left = docker_engine.api.containers(all=True,
                                        filters={"label": L.project_filter(project_name)})
    assert left == []
    with_volume = Service("web", image=IMAGE, read_only=True, secrets=(FileReference("tok"),),
                          volumes=(Mount("volume", "/run/secrets"),))
    proj = _project(project_name, with_volume)
    docker_engine.remove_network(project_name, f"{project_name}_default")
    cid = _create(docker_engine, proj, with_volume)
    stream, _ = docker_engine.api.get_archive(cid, "/run/secrets/tok")
    assert b"s3cr3t" in b"".join(stream)
