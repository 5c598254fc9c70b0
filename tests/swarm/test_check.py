"""swarm.check: what a swarm cannot do is refused, naming the key and its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackup.core.errors import SpecError
from stackup.swarm.check import refuse, refusals

from tests.swarm.helpers import load


def test_refusals_name_each_key_and_line(tmp_path: Path) -> None:
    project, tree = load(tmp_path, """
        name: demo
        services:
          db:
            image: x
            container_name: the-db
          web:
            image: x
            network_mode: service:db
            privileged: true
            links: [db]
            ports:
              - "127.0.0.1:8080:80"
          api:
            image: x
            deploy: {endpoint_mode: dnsrr}
            ports: ["9000:90"]
            networks:
              back: {ipv4_address: 10.0.0.5}
        networks:
          back: {driver: bridge}
    """)
    with pytest.raises(SpecError) as caught:
        refuse(project, tree)
    error = caught.value
    text = str(error)
    assert error.summary == "8 settings cannot be deployed to a swarm"
    compose = str(tmp_path / "compose.yaml")
    for path, line in (("services.db.container_name", 6),
                       ("services.web.network_mode", 9), ("services.web.privileged", 10),
                       ("services.web.links", 11), ("services.web.ports[0]", 13),
                       ("services.api.ports[0]", 17),
                       ("services.api.networks.back.ipv4_address", 19),
                       ("networks.back.driver", 21)):
        assert f"{path} ({compose}:{line})" in text, path
    assert "127.0.0.1" in text and "service:db" in text
    assert error.location is not None and error.location.line == 6  # the first one


def test_a_plain_stack_passes(tmp_path: Path) -> None:
    project, tree = load(tmp_path, """
        name: demo
        services:
          web:
            image: x
            ports: [{target: 80, published: 8080, mode: host}]
            deploy: {endpoint_mode: dnsrr, replicas: 2}
          job:
            image: x
            deploy: {mode: replicated-job}
          api:
            image: x
            depends_on:
              job: {condition: service_completed_successfully}
    """)
    refuse(project, tree)
    assert refusals(project, tree) == []


def test_a_dependency_that_never_completes_is_refused(tmp_path: Path) -> None:
    project, tree = load(tmp_path, """
        name: demo
        services:
          migrate: {image: x}
          api:
            image: x
            depends_on:
              migrate: {condition: service_completed_successfully}
    """)
    found = refusals(project, tree)
    assert [r.path for r in found] == ["services.api.depends_on.migrate"]
    assert "replicated-job" in found[0].message


def test_build_without_image_name_only_on_several_nodes(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    project, tree = load(tmp_path, """
        name: demo
        services:
          web: {build: .}
    """)
    assert refusals(project, tree, nodes=1) == []
    assert [r.path for r in refusals(project, tree, nodes=3)] == ["services.web.build"]


def test_without_a_tree_the_paths_are_still_named(tmp_path: Path) -> None:
    project, _ = load(tmp_path, """
        name: demo
        services:
          web: {image: x, container_name: w1}
    """)
    with pytest.raises(SpecError, match="services.web.container_name: a swarm names"):
        refuse(project, None)
