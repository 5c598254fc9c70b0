"""graph.walk and the service orders: every need first, ties by kind then name, the same order
every time; a cycle is an error naming its path; networkx only where it is asked for."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from stackup.core.errors import CycleError
from stackup.core.graph import (DependencyGraph, build_graph, service_order, to_networkx,
                           topological_order, walk)
from stackup.core.model import (
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

RANK = ["network", "volume", "secret", "config", "image", "service"]


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


@pytest.mark.parametrize("seed", range(40))
def test_walk_is_the_least_ready_node_each_step(seed: int) -> None:
    """The definition of the order, checked step by step: each node comes after all it needs,
    and is the least (kind rank, name) of the nodes whose needs were all placed before it."""
    rng = random.Random(seed)
    graph = build_graph(_random_project(rng, rng.randint(1, 30)))
    order = walk(graph)
    assert sorted(order) == sorted(graph.nodes)
    placed: set[tuple[str, str]] = set()
    for node in order:
        ready = [n for n in graph.nodes if n not in placed and set(graph.needs[n]) <= placed]
        assert node == min(ready, key=lambda n: (RANK.index(n[0]), n[1]))
        placed.add(node)
    # the order does not depend on the order nodes and edges were added
    shuffled = DependencyGraph()
    nodes = list(graph.nodes)
    rng.shuffle(nodes)
    for node in nodes:
        needs = list(graph.needs[node].items())
        rng.shuffle(needs)
        for need, attrs in needs:
            shuffled.add_edge(node, need, **attrs)
        shuffled.add_node(node, **graph.nodes[node])
    assert walk(shuffled) == order


def test_walk_is_not_layer_by_layer() -> None:
    """A node that becomes ready goes before a larger one that was ready earlier."""
    graph = DependencyGraph()
    graph.add_edge(("service", "b"), ("service", "a"))
    graph.add_node(("service", "c"))
    assert walk(graph) == [("service", "a"), ("service", "b"), ("service", "c")]


def test_service_orders() -> None:
    services = {n: Service(name=n, image="x", depends_on=tuple(Dependency(d) for d in deps))
                for n, deps in {"web": ["api", "gone"], "api": ["db"], "db": [], "zz": [],
                                "b": ["db"]}.items()}
    assert service_order(services) == ["db", "api", "b", "web", "zz"]
    assert service_order(services, dependents_first=True) == ["b", "web", "api", "db", "zz"]


def test_a_cycle_names_its_path_starting_at_the_least_name() -> None:
    project = _random_project(random.Random(7), 12, cycle=True)
    with pytest.raises(CycleError) as info:
        walk(build_graph(project))
    cycle = info.value.cycle
    assert str(info.value).startswith(f"dependency cycle: {' -> '.join([*cycle, cycle[0]])}")
    assert cycle[0] == min(cycle) and len(set(cycle)) == len(cycle) >= 2
    for name, need in zip(cycle, [*cycle[1:], cycle[0]]):
        assert Dependency(need) in project.services[name].depends_on  # a path, in order
    with pytest.raises(CycleError) as again:
        service_order(project.services)
    assert again.value.cycle == cycle


def test_a_self_dependency_is_a_cycle_of_one() -> None:
    with pytest.raises(CycleError) as info:
        topological_order({"a": ["a"], "b": []}, str, str)
    assert info.value.cycle == ["a"]
    assert str(info.value).startswith("dependency cycle: a -> a")


def test_to_networkx_is_the_same_graph() -> None:
    graph = build_graph(_random_project(random.Random(3), 20))
    nx_graph = to_networkx(graph)
    assert dict(nx_graph.nodes(data=True)) == graph.nodes
    assert {(u, v): attrs for u, v, attrs in nx_graph.edges(data=True)} == {
        (u, v): attrs for u, needs in graph.needs.items() for v, attrs in needs.items()}
    nx_graph.add_edge(("service", "new"), ("service", "other"))
    assert ("service", "new") not in graph.nodes  # a copy: the graph is not changed through it


def test_planning_order_does_not_import_networkx() -> None:
    code = ("import sys\n"
            "from stackup.core.graph import build_graph, walk, find_cycle\n"
            "from stackup.core.model import Dependency, FrozenMap, Project, Service\n"
            "s = {'a': Service('a', image='x'), 'b': Service('b', image='x',"
            " depends_on=(Dependency('a'),))}\n"
            "p = Project('p', '/p', services=FrozenMap(s))\n"
            "assert find_cycle(p) is None\n"
            "print(walk(build_graph(p)))\n"
            "assert 'networkx' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "('service', 'a'), ('service', 'b')" in done.stdout
