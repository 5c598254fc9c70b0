"""The project's dependency graph: who needs what, and in which order to start services.

Pipeline position: ``Project`` (from the loader) → **graph** → reconcile / execute / CLI. Pure:
builds the graph from the model each time it is asked (cheap, linear in services and edges).
Edges point *from the dependent to what it needs*: a service → its image, networks, named
volumes, secrets, configs and the services it depends on (with ``condition``, ``restart``,
``required`` edge attributes).

One graph type, ``DependencyGraph`` (plain dicts), and one ordering, :func:`topological_order`:
the standard library's ``graphlib`` finds cycles and tracks which nodes are ready, and among the
ready the least key goes first, so the order is deterministic (a lexicographic topological sort).
Questions networkx answers better (everything a service depends on, or that depends on it) are
asked of a networkx graph built for them by :func:`to_networkx`; networkx is imported only there.
"""

from __future__ import annotations

import graphlib
import heapq
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from stackup.core.errors import CycleError
from stackup.core.model import Project, Service

if TYPE_CHECKING:
    import networkx as nx

Node = tuple[str, str]
T = TypeVar("T", bound=Hashable)


class DependencyGraph:
    """Nodes ``(kind, name)`` with attributes, and edges dependent → need with attributes. An
    edge adds its missing end nodes; adding a node or an edge again merges its attributes."""

    __slots__ = ("needs", "nodes")

    def __init__(self) -> None:
        self.nodes: dict[Node, dict[str, Any]] = {}
        self.needs: dict[Node, dict[Node, dict[str, Any]]] = {}  # node → need → edge attributes

    def add_node(self, node: Node, **attrs: Any) -> None:
        if node not in self.nodes:
            self.nodes[node] = {}
            self.needs[node] = {}
        self.nodes[node].update(attrs)

    def add_edge(self, dependent: Node, need: Node, **attrs: Any) -> None:
        self.add_node(dependent)
        self.add_node(need)
        self.needs[dependent].setdefault(need, {}).update(attrs)


def build_graph(project: Project) -> DependencyGraph:
    """Every service, top-level resource and image as a node ``(kind, name)``; edges dependent →
    need. This is the spine ``reconcile`` walks (``walk``) to order the operations it plans."""
    graph = DependencyGraph()
    for kind, items in (("network", project.networks), ("volume", project.volumes),
                        ("secret", project.secrets), ("config", project.configs)):
        for key in items:
            graph.add_node((kind, key), kind=kind, name=key)
    for name in project.services:
        graph.add_node(("service", name), kind="service", name=name)
    for name, svc in project.services.items():
        node = ("service", name)
        graph.add_edge(node, ("image", svc.image_ref(project.name)))
        graph.add_node(("image", svc.image_ref(project.name)), kind="image")
        for net in svc.networks:
            graph.add_edge(node, ("network", net.name))
        for mount in svc.volumes:
            if mount.type == "volume" and mount.source is not None:
                graph.add_edge(node, ("volume", mount.source))
        for ref in svc.secrets:
            graph.add_edge(node, ("secret", ref.source))
        for ref in svc.configs:
            graph.add_edge(node, ("config", ref.source))
        for dep in svc.depends_on:
            if dep.service in project.services:
                graph.add_edge(node, ("service", dep.service), condition=dep.condition,
                               restart=dep.restart, required=dep.required)
    return graph


def topological_order(needs: Mapping[T, Iterable[T]], key: Callable[[T], Any],
                      name: Callable[[T], str]) -> list[T]:
    """Every node after all it needs; among the nodes whose needs are placed, the least
    ``key`` first (keys must be unique, which makes the order total). A cycle raises
    ``CycleError`` naming its nodes (``name``) in dependency order."""
    sorter = graphlib.TopologicalSorter(needs)
    try:
        sorter.prepare()
    except graphlib.CycleError as err:
        raise CycleError(_cycle_path(err, name)) from None
    ready = [(key(node), node) for node in sorter.get_ready()]
    heapq.heapify(ready)
    order: list[T] = []
    while ready:
        node = heapq.heappop(ready)[1]
        order.append(node)
        sorter.done(node)
        for now_ready in sorter.get_ready():
            heapq.heappush(ready, (key(now_ready), now_ready))
    return order


def _cycle_path(err: graphlib.CycleError, name: Callable[[Any], str]) -> list[str]:
    """The cycle ``graphlib`` found, as names in dependency order (``[a, b]``: a needs b, b
    needs a), starting at the least name. graphlib lists it need first: ``[b, a, b]``."""
    path = [name(node) for node in reversed(err.args[1][:-1])]
    start = path.index(min(path))
    return path[start:] + path[:start]


def _node_key(node: Node) -> tuple[int, str]:
    return _RANK.get(node[0], 9), node[1]


_RANK = {"network": 0, "volume": 1, "secret": 2, "config": 3, "image": 4, "service": 5}


def walk(graph: DependencyGraph) -> list[Node]:
    """The nodes of a ``build_graph`` graph, everything a node needs before it; ties broken by
    kind (networks, volumes, secrets, configs, images, services), then name. A depends_on cycle
    raises ``CycleError`` naming it."""
    return topological_order(graph.needs, _node_key, lambda node: node[1])


def to_networkx(graph: DependencyGraph) -> nx.DiGraph[Node]:
    """``graph`` as a new ``networkx.DiGraph`` with the same nodes, edges and attributes, for the
    questions networkx answers (ancestors, descendants, drawing)."""
    import networkx as nx

    out: nx.DiGraph[Node] = nx.DiGraph()
    out.add_nodes_from((node, dict(attrs)) for node, attrs in graph.nodes.items())
    out.add_edges_from((u, v, dict(attrs)) for u, needs in graph.needs.items()
                       for v, attrs in needs.items())
    return out


def _service_needs(services: Mapping[str, Service]) -> dict[str, list[str]]:
    """Each service's dependencies among ``services`` (others are ignored)."""
    return {name: [d.service for d in svc.depends_on if d.service in services]
            for name, svc in services.items()}


def find_cycle(project: Project) -> list[str] | None:
    """One depends_on cycle in order (``[a, b]``: a → b → a), starting at its least name."""
    return cycle_in(project.services)


def cycle_in(services: Mapping[str, Service]) -> list[str] | None:
    """:func:`find_cycle` over any set of services."""
    try:
        graphlib.TopologicalSorter(_service_needs(services)).prepare()
    except graphlib.CycleError as err:
        return _cycle_path(err, str)
    return None


def start_order(project: Project) -> list[str]:
    """Services, dependencies first; ties broken by name. Raises CycleError on a cycle."""
    return service_order(project.services)


def service_order(services: Mapping[str, Service], *,
                  dependents_first: bool = False) -> list[str]:
    """:func:`start_order` (or, with ``dependents_first``, a stop order) over any set of
    services; dependencies outside the set are ignored."""
    needs = _service_needs(services)
    if dependents_first:
        dependents: dict[str, list[str]] = {name: [] for name in services}
        for name, deps in needs.items():
            for dep in deps:
                dependents[dep].append(name)
        return topological_order(dependents, str, str)
    return topological_order(needs, str, str)


def stop_order(project: Project) -> list[str]:
    """Dependents first; ties broken by name."""
    return service_order(project.services, dependents_first=True)


def dependents(project: Project, service: str) -> set[str]:
    """Every service that depends on ``service``, directly or not (not ``service`` itself)."""
    import networkx as nx

    graph = to_networkx(build_graph(project))
    node = ("service", service)
    if node not in graph:
        return set()
    return {name for kind, name in nx.ancestors(graph, node) if kind == "service"}


def dependencies(project: Project, services: Iterable[str]) -> set[str]:
    """``services`` and everything they depend on, transitively (what ``up web`` must start).
    Names that are not services of the project are left out."""
    import networkx as nx

    wanted = [name for name in services if name in project.services]
    if not wanted:
        return set()
    graph = to_networkx(build_graph(project))
    out = set(wanted)
    for name in wanted:
        out |= {n for kind, n in nx.descendants(graph, ("service", name)) if kind == "service"}
    return out
