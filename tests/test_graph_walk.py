"""graph.walk without networkx gives networkx's own order (lexicographical_topological_sort of
the reversed graph), and the DependencyGraph is the same graph networkx builds."""

from __future__ import annotations

import random

import networkx as nx
import pytest

from stackup.errors import CycleError
from stackup.graph import DependencyGraph, _node_key, build_graph, walk
from stackup.model import (
    Dependency,
    FileObject,
    FileReference,
    FrozenMap,
    Mount,
    Network,
    Project,
    Service,
    ServiceNetwork,
    Volume,
)


def _random_project(rng: random.Random, n: int, *, cycle: bool = False) -> Project:
    names = [f"s{i:02d}" for i in rng.sample(range(100), n)]
    nets = [f"n{i}" for i in range(3)]
    vols = [f"v{i}" for i in range(3)]
    services = {}
    for i, name in enumerate(names):
        below = names[:i]
        deps = sorted(set(rng.sample(below, min(len(below), rng.randint(0, 3)))))
        if cycle and i == 0 and n > 1:
            deps = [names[-1]]
        services[name] = Service(
            name=name, image=rng.choice(["a", "b", "c"]),
            networks=tuple(ServiceNetwork(x) for x in rng.sample(nets, rng.randint(0, 2))),
            volumes=tuple(Mount(type="volume", target=f"/d{j}", source=v)
                          for j, v in enumerate(rng.sample(vols, rng.randint(0, 2)))),
            secrets=(FileReference("tok"),) if rng.random() < 0.3 else (),
            depends_on=tuple(Dependency(d) for d in deps))
    return Project(name="p", working_dir="/p", services=FrozenMap(services),
                   networks=FrozenMap({x: Network(x, f"p_{x}") for x in nets}),
                   volumes=FrozenMap({x: Volume(x, f"p_{x}") for x in vols}),
                   secrets=FrozenMap({"tok": FileObject("tok", "p_tok", file="/t")}))


def _networkx_graph(project: Project) -> nx.DiGraph:
    """The graph as build_graph made it when it used networkx directly."""
    graph = nx.DiGraph()
    for kind, items in (("network", project.networks), ("volume", project.volumes),
                        ("secret", project.secrets), ("config", project.configs)):
        for key in items:
            graph.add_node((kind, key), kind=kind, name=key)
    for name in project.services:
        graph.add_node(("service", name), kind="service", name=name)
    for name, svc in project.services.items():
        node = ("service", name)
        graph.add_edge(node, ("image", svc.image_ref(project.name)))
        graph.nodes[("image", svc.image_ref(project.name))].update(kind="image")
        for net in svc.networks:
            graph.add_edge(node, ("network", net.name))
        for mount in svc.volumes:
            if mount.type == "volume" and mount.source is not None:
                graph.add_edge(node, ("volume", mount.source))
        for ref in svc.secrets:
            graph.add_edge(node, ("secret", ref.source))
        for dep in svc.depends_on:
            graph.add_edge(node, ("service", dep.service), condition=dep.condition,
                           restart=dep.restart, required=dep.required)
    return graph


@pytest.mark.parametrize("seed", range(40))
def test_walk_is_networkx_order_and_the_graph_is_networkx_graph(seed: int) -> None:
    rng = random.Random(seed)
    project = _random_project(rng, rng.randint(1, 30))
    expected = _networkx_graph(project)
    want = list(nx.lexicographical_topological_sort(expected.reverse(copy=False),
                                                    key=_node_key))
    graph = build_graph(project)
    assert graph._nx is None
    assert walk(graph) == want  # without networkx
    assert graph._nx is None
    real = graph.to_networkx()
    assert list(real.nodes(data=True)) == list(expected.nodes(data=True))
    assert list(real.edges(data=True)) == list(expected.edges(data=True))
    assert walk(graph) == want  # through networkx, once it is there


def test_a_cycle_names_the_same_services_both_ways() -> None:
    project = _random_project(random.Random(7), 12, cycle=True)
    with pytest.raises(CycleError) as pure:
        walk(build_graph(project))
    graph = build_graph(project)
    graph.to_networkx()
    with pytest.raises(CycleError) as through_networkx:
        walk(graph)
    assert str(pure.value) == str(through_networkx.value)
    assert "cycle" in str(pure.value).lower()


def test_changes_made_through_networkx_are_walked() -> None:
    graph = DependencyGraph()
    graph.add_edge(("service", "b"), ("service", "a"))
    assert walk(graph) == [("service", "a"), ("service", "b")]
    graph.remove_edge(("service", "b"), ("service", "a"))  # networkx's own method
    graph.add_edge(("service", "a"), ("service", "b"))
    assert walk(graph) == [("service", "b"), ("service", "a")]
    assert ("service", "a") in graph and len(graph) == 2
