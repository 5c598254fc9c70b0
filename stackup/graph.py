"""The project's dependency graph: who needs what, and in which order to start services.

Pipeline position: ``Project`` (from ``spec``) → **graph** → reconcile / execute / CLI. Pure:
builds the graph from the model each time it is asked (cheap, linear in services and edges).
Edges point *from the dependent to what it needs*: a service → its networks, named volumes,
secrets, configs and the services it depends on (with ``condition``, ``restart``, ``required``
edge attributes).

``build_graph`` gives a ``DependencyGraph``: the nodes and edges in plain dicts, which is all
``walk`` needs, and the very same graph as a ``networkx.DiGraph`` on first use of any networkx
attribute (``nodes``, ``successors``, ``edges`` ...). Importing networkx costs about 0.1 s, more
than a whole no-op ``up`` spends planning, so a plan that only walks the graph never imports it.
``walk`` is the lexicographic topological sort networkx computes (``lexicographical_topological_
sort`` on the reversed graph, same key, same tie break), so the order is the same either way.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from stackup.model import Project, Service

if TYPE_CHECKING:
    import networkx as nx  # imported where a networkx graph is built: it costs ~0.1 s to import

Node = tuple[str, str]


class DependencyGraph:
    """A directed graph kept in plain dicts, with networkx's node/edge semantics (an edge adds
    its missing end nodes; attributes are merged). Any attribute it does not define itself is
    the networkx ``DiGraph`` of the same nodes, edges and attributes (built once, on first use):
    ``graph.nodes[node]``, ``graph.successors(node)``, ``graph.edges[u, v]`` ... After that the
    networkx graph is the graph (``walk`` walks it), so changes made through it count."""

    __slots__ = ("_nodes", "_nx", "_succ")

    def __init__(self) -> None:
        self._nodes: dict[Node, dict[str, Any]] = {}
        self._succ: dict[Node, dict[Node, dict[str, Any]]] = {}
        self._nx: nx.DiGraph | None = None

    def add_node(self, node: Node, **attrs: Any) -> None:
        if node not in self._nodes:
            self._nodes[node] = {}
            self._succ[node] = {}
        self._nodes[node].update(attrs)
        if self._nx is not None:
            self._nx.add_node(node, **attrs)

    def add_edge(self, u: Node, v: Node, **attrs: Any) -> None:
        for node in (u, v):
            if node not in self._nodes:
                self._nodes[node] = {}
                self._succ[node] = {}
        self._succ[u].setdefault(v, {}).update(attrs)
        if self._nx is not None:
            self._nx.add_edge(u, v, **attrs)

    def to_networkx(self) -> nx.DiGraph:
        """This graph as a ``networkx.DiGraph`` (the same object every time)."""
        if self._nx is None:
            import networkx as nx

            graph = nx.DiGraph()
            graph.add_nodes_from((node, dict(attrs)) for node, attrs in self._nodes.items())
            graph.add_edges_from((u, v, dict(attrs)) for u, needs in self._succ.items()
                                 for v, attrs in needs.items())
            self._nx = graph
        return self._nx

    def __getattr__(self, name: str) -> Any:
        return getattr(self.to_networkx(), name)

    def __contains__(self, node: object) -> bool:
        return node in self.to_networkx() if self._nx is not None else node in self._nodes

    def __iter__(self) -> Iterator[Node]:
        return iter(self.to_networkx() if self._nx is not None else self._nodes)

    def __len__(self) -> int:
        return len(self.to_networkx() if self._nx is not None else self._nodes)

    def __getitem__(self, node: Node) -> Any:
        return self.to_networkx()[node]


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


def walk(graph: DependencyGraph | nx.DiGraph) -> list[Node]:
    """The nodes of a ``build_graph`` graph, everything a node needs before it; ties broken by
    ``(kind, name)`` so that two runs give the same order. A depends_on cycle raises
    ``CycleError`` naming it.

    The order is networkx's ``lexicographical_topological_sort`` of the reversed graph with the
    ``_node_key`` key: Kahn's algorithm taking, among the nodes whose needs are all placed, the
    least ``(key, insertion index)``. Keys are unique per node (kind rank, name), so that order
    is total and does not depend on the order edges were added. A ``DependencyGraph`` never
    turned into networkx is walked here without importing networkx; any other graph through
    networkx itself."""
    if isinstance(graph, DependencyGraph) and graph._nx is None:
        nodes, succ = graph._nodes, graph._succ
        order = _lexicographic_needs_first(nodes, succ)
        if order is not None:
            return order
        edges = {node[1]: [d[1] for d in succ[node] if d[0] == "service"]
                 for node in nodes if node[0] == "service"}
        from stackup.errors import CycleError

        raise CycleError(_cycle(edges) or [])
    import networkx as nx

    if isinstance(graph, DependencyGraph):
        graph = graph.to_networkx()
    try:
        return list(nx.lexicographical_topological_sort(graph.reverse(copy=False),
                                                        key=_node_key))
    except nx.NetworkXUnfeasible:
        from stackup.errors import CycleError

        services = [n[1] for n in graph if n[0] == "service"]
        edges = {n: [d[1] for d in graph.successors(("service", n)) if d[0] == "service"]
                 for n in services}
        raise CycleError(_cycle(edges) or []) from None


def _lexicographic_needs_first(nodes: Mapping[Node, object],
                               succ: Mapping[Node, Mapping[Node, object]]) -> list[Node] | None:
    """Needs first, least ``(_node_key, insertion index)`` among the ready; None on a cycle."""
    index = {node: i for i, node in enumerate(nodes)}
    waiting = {node: len(needs) for node, needs in succ.items() if needs}
    needed_by: dict[Node, list[Node]] = {}
    for node, needs in succ.items():
        for need in needs:
            needed_by.setdefault(need, []).append(node)
    ready = [(_node_key(node), index[node], node) for node, needs in succ.items() if not needs]
    heapq.heapify(ready)
    order: list[Node] = []
    while ready:
        node = heapq.heappop(ready)[2]
        order.append(node)
        for dependent in needed_by.get(node, ()):
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                del waiting[dependent]
                heapq.heappush(ready, (_node_key(dependent), index[dependent], dependent))
    return None if waiting else order


def _node_key(node: Node) -> str:
    return f"{_RANK.get(node[0], 9)}:{node[1]}"


_RANK = {"network": 0, "volume": 1, "secret": 2, "config": 3, "image": 4, "service": 5}


def service_graph(services: Mapping[str, Service]) -> nx.DiGraph:
    """Services only, edges dependent → dependency (between the given services); nodes added in
    name order."""
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(sorted(services))
    graph.add_edges_from((name, dep.service) for name, svc in services.items()
                         for dep in svc.depends_on if dep.service in services)
    return graph


def _service_graph(project: Project) -> nx.DiGraph:
    return service_graph(project.services)


def find_cycle(project: Project) -> list[str] | None:
    """One depends_on cycle in order (``[a, b]`` means a → b → a), starting at its least name."""
    return cycle_in(project.services)


def cycle_in(services: Mapping[str, Service]) -> list[str] | None:
    """:func:`find_cycle` over any set of services."""
    return _cycle({name: [d.service for d in svc.depends_on if d.service in services]
                   for name, svc in services.items()})


def _cycle(needs: Mapping[str, list[str]]) -> list[str] | None:
    """An iterative three-colour depth-first search: each service and each edge is visited once
    (``networkx.find_cycle`` re-walks shared sub-graphs and is far slower on dense layers)."""
    services = needs
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in services:
        if root in state:
            continue
        path = [root]
        state[root] = 1
        stack = [iter(needs[root])]
        while stack:
            for nxt in stack[-1]:
                mark = state.get(nxt)
                if mark == 1:
                    cycle = path[path.index(nxt):]
                    start = cycle.index(min(cycle))
                    return cycle[start:] + cycle[:start]
                if mark is None:
                    state[nxt] = 1
                    path.append(nxt)
                    stack.append(iter(needs[nxt]))
                    break
            else:
                state[path.pop()] = 2
                stack.pop()
    return None


def start_order(project: Project) -> list[str]:
    """Services, dependencies first; ties broken by name. Raises CycleError on a cycle."""
    return service_order(project.services)


def service_order(services: Mapping[str, Service], *,
                  dependents_first: bool = False) -> list[str]:
    """:func:`start_order` (or, with ``dependents_first``, a stop order) over any set of
    services; dependencies outside the set are ignored.

    Kahn's algorithm with a heap of ready names (a lexicographic topological sort).
    """
    waiting = {name: 0 for name in services}
    needed_by: dict[str, list[str]] = {name: [] for name in services}
    for name, svc in services.items():
        for dep in {d.service for d in svc.depends_on if d.service in services}:
            first, then = (name, dep) if dependents_first else (dep, name)
            waiting[then] += 1
            needed_by[first].append(then)
    ready = [name for name, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        name = heapq.heappop(ready)
        order.append(name)
        for other in needed_by[name]:
            waiting[other] -= 1
            if waiting[other] == 0:
                heapq.heappush(ready, other)
    if len(order) != len(services):
        from stackup.errors import CycleError

        raise CycleError(cycle_in(services) or [])
    return order


def stop_order(project: Project) -> list[str]:
    """Dependents first; ties broken by name."""
    return service_order(project.services, dependents_first=True)


def dependents(project: Project, service: str) -> set[str]:
    """Every service that depends on ``service``, directly or not (not ``service`` itself)."""
    graph = _service_graph(project)
    if service not in graph:
        return set()
    import networkx as nx

    return set(nx.ancestors(graph, service))


def dependencies(project: Project, services: Iterable[str]) -> set[str]:
    """``services`` and everything they depend on, transitively (what ``up web`` must start)."""
    graph = _service_graph(project)
    out: set[str] = set()
    for name in services:
        if name in graph and name not in out:
            out.add(name)
            out |= _descendants(graph, name)
    return out


def _descendants(graph: nx.DiGraph, name: str) -> set[str]:
    import networkx as nx

    return set(nx.descendants(graph, name))
