"""Pinned config hashes: the digest stackup puts on each container (``CONFIG_HASH`` label) for a
few representative services, loaded from a stack file as a user writes it.

A change to the hash form changes the digest of every existing container, and the next ``up``
would recreate them all. Such a change must be deliberate: if this test fails, either the change
is a mistake, or it is on purpose and the new digests go here with a CHANGELOG line saying that
upgrading recreates containers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import stackup
from stackup.core.hashing import config_hash

COMPOSE = """\
name: golden
services:
  minimal:
    image: busybox:1.36
  full:
    image: nginx:1.25
    command: ["nginx", "-g", "daemon off;"]
    environment:
      APP_ENV: production
      LOG_LEVEL: info
    ports:
      - "8080:80"
      - "127.0.0.1:8443:443/tcp"
    volumes:
      - data:/var/lib/data
      - /srv/static:/usr/share/nginx/html:ro
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://localhost/"]
      interval: 5s
      timeout: 2s
      retries: 3
      start_period: 10s
    secrets:
      - token
    restart: unless-stopped
  built:
    build:
      context: ./app
      dockerfile: Dockerfile
      args:
        VERSION: "1.0"
  networked:
    image: redis:7
    networks:
      front:
        aliases: [cache, redis-front]
      back:
        aliases: [store]
networks:
  front: {}
  back:
    name: shared-back
volumes:
  data: {}
secrets:
  token:
    file: ./token.txt
"""

GOLDEN = {
    "minimal": (
        "41b74d8c7eec5a4f0e1f63aca94d8b9c7f62f7ed126d2a754049a12f021baf5f",
        '{"image":"busybox:1.36","networks":[{"name":"golden_default"}]}',
    ),
    "full": (
        "fb5636b6970375bf44b9ee52b84f0a4a5c855e3aad9326b834bbd6d85c7a34b7",
        '{"command":["nginx","-g","daemon off;"],"environment":{"APP_ENV":"production","LOG_L'
        'EVEL":"info"},"healthcheck":{"interval":5.0,"retries":3,"start_period":10.0,"test":['
        '"CMD","wget","-q","-O-","http://localhost/"],"timeout":2.0},"image":"nginx:1.25","ne'
        'tworks":[{"name":"golden_default"}],"ports":[{"published":"8080","target":80},{"host'
        '_ip":"127.0.0.1","published":"8443","target":443}],"restart":"unless-stopped","secre'
        'ts":[{"object":{"sha256":"4aecc95a648f1593101ce7b68659c8651a3df2cc2ea7629b0a220c68b7'
        '739ddb"},"source":"token"}],"volumes":[{"source":"golden_data","target":"/var/lib/da'
        'ta","type":"volume"},{"read_only":true,"source":"/srv/static","target":"/usr/share/n'
        'ginx/html","type":"bind"}]}',
    ),
    "built": (
        "683095b18637c7dab55e56c73248bb6d4c9d9a0c174d7205c39f9091c3d9957a",
        '{"image":"golden-built","networks":[{"name":"golden_default"}]}',
    ),
    "networked": (
        "f37d8d5bf16fe0c9ceb6f877002b0ea440ec9cf222f8c51ee2696fa1d15ee27b",
        '{"image":"redis:7","networks":[{"aliases":["store"],"name":"shared-back"},{"aliases"'
        ':["cache","redis-front"],"name":"golden_front"}]}',
    ),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> stackup.Project:
    folder: Path = tmp_path_factory.mktemp("golden")
    (folder / "compose.yaml").write_text(COMPOSE)
    (folder / "app").mkdir()
    (folder / "app" / "Dockerfile").write_text("FROM busybox\n")
    (folder / "token.txt").write_text("s3cret-value\n")
    return stackup.load(cwd=str(folder))


@pytest.mark.parametrize("service", sorted(GOLDEN))
def test_config_hash_is_pinned(project: stackup.Project, service: str) -> None:
    digest, text = config_hash(project, project.services[service])
    want_digest, want_text = GOLDEN[service]
    assert text == want_text
    assert digest == want_digest


def test_every_service_is_pinned(project: stackup.Project) -> None:
    assert set(project.services) == set(GOLDEN)
