"""graph: nodes, edges, start/stop order, transitive dependents/dependencies, cycles."""

from __future__ import annotations


from stackup.core.model import (Dependency, FileReference, FrozenMap, Mount, Network, Project,
                           Service, ServiceNetwork, Volume)
from stackup.core.graph import (build_graph, dependencies, dependents, find_cycle, start_order,
                           stop_order)
import pytest

from stackup.core.errors import CycleError


def project(deps: dict[str, list[str]], **extra: object) -> Project:
    services = {n: Service(name=n, image="x", depends_on=tuple(Dependency(d) for d in sorted(ds)))
                for n, ds in sorted(deps.items())}
    return Project(name="p", working_dir="/p", services=FrozenMap(services), **extra)  # type: ignore[arg-type]


def test_nodes_and_edges() -> None:
    web = Service(name="web", image="x",
                  networks=(ServiceNetwork("front"),),
                  volumes=(Mount(type="volume", target="/d", source="data"),
                           Mount(type="bind", target="/b", source="/host")),
                  secrets=(FileReference("tok"),), configs=(FileReference("conf"),),
                  depends_on=(Dependency("db", condition="service_healthy", restart=True),))
    db = Service(name="db", image="y")
    p = Project(name="p", working_dir="/p", services=FrozenMap({"db": db, "web": web}),
                networks=FrozenMap({"front": Network("front", "p_front")}),
                volumes=FrozenMap({"data": Volume("data", "p_data")}))
    g = build_graph(p)
    assert g.nodes[("service", "web")] == {"kind": "service", "name": "web"}
    assert set(g.needs[("service", "web")]) == {
        ("network", "front"), ("volume", "data"), ("secret", "tok"), ("config", "conf"),
        ("service", "db"), ("image", "x")}
    assert g.needs[("service", "web")][("service", "db")] == {
        "condition": "service_healthy", "restart": True, "required": True}
    assert g.needs[("service", "db")] == {("image", "y"): {}}
    assert g.needs[("network", "front")] == {}


def test_start_order_is_dependencies_first_then_by_name() -> None:
    p = project({"web": ["api"], "api": ["db", "cache"], "db": [], "cache": [], "admin": ["db"]})
    order = start_order(p)
    assert order == ["cache", "db", "admin", "api", "web"]
    # dependents first, ties broken by name too
    assert stop_order(p) == ["admin", "web", "api", "cache", "db"]


def test_dependents_and_dependencies() -> None:
    p = project({"web": ["api"], "api": ["db"], "db": [], "worker": ["db"], "lone": []})
    assert dependents(p, "db") == {"api", "web", "worker"}
    assert dependents(p, "web") == set()
    assert dependencies(p, ["web"]) == {"web", "api", "db"}
    assert dependencies(p, ["lone", "worker"]) == {"lone", "worker", "db"}
    assert dependencies(p, []) == set()


def test_cycles() -> None:
    assert find_cycle(project({"a": ["b"], "b": []})) is None
    assert find_cycle(project({"web": ["api"], "api": ["web"]})) == ["api", "web"]
    p = project({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]})
    assert find_cycle(p) == ["a", "b", "c"]
    with pytest.raises(CycleError):
        start_order(p)


def test_dense_layers_are_answered_right() -> None:
    # 100 layers of 10, each service needing all 10 below: 10^99 paths, 9,000 edges (what this
    # costs is measured by the benchmark harness, not here).
    deps = {f"s{layer:03d}_{i}": [f"s{layer - 1:03d}_{j}" for j in range(10)] if layer else []
            for layer in range(100) for i in range(10)}
    p = project(deps)
    order = start_order(p)
    assert len(dependencies(p, ["s099_0"])) == 991
    assert len(dependents(p, "s000_0")) == 990
    assert find_cycle(p) is None
    assert order[:10] == [f"s000_{i}" for i in range(10)]


def test_walk_puts_every_need_first_and_ties_by_kind_then_name() -> None:
    from stackup.core.graph import walk

    p = project({"web": ["api"], "api": ["db"], "db": [], "admin": []})
    order = walk(build_graph(p))
    assert order.index(("service", "db")) < order.index(("service", "api")) \
        < order.index(("service", "web"))
    services = [n for n in order if n[0] == "service"]
    assert services == [("service", "admin"), ("service", "db"), ("service", "api"),
                        ("service", "web")]
    assert all(order.index(n) < order.index(("service", "admin"))
               for n in order if n[0] in ("network", "image"))
