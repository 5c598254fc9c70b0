"""Plan-building speed and size on big layered stacks (issue 8): ``plan_down`` and ``plan_up``
of N services in layers of 10, each depending on all 10 below, all running.

    .venv/bin/python bench/plan_bench.py [N ...]

Prints, per N: seconds (median of 3) and the number of operations and edges, and the number of
dependency edges in the stack, so that the edge count can be seen to grow linearly.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

from stackup.core.hashing import config_hash
from stackup.core.model import Dependency, FrozenMap, Network, Project, Service, ServiceNetwork
from stackup.core.observed import ObservedContainer, ObservedNetwork, ObservedState
from stackup.reconcile import plan_down, plan_up

WIDTH = 10


def layered(n: int) -> Project:
    services = {}
    for i in range(n):
        layer = i // WIDTH
        below = [f"s{j}" for j in range((layer - 1) * WIDTH, layer * WIDTH)] if layer else []
        services[f"s{i}"] = Service(
            f"s{i}", image="busybox:local", networks=(ServiceNetwork("default"),),
            depends_on=tuple(Dependency(d) for d in sorted(below)))
    return Project("bench", "/w", services=FrozenMap(services),
                   networks=FrozenMap({"default": Network("default", "bench_default")}))


def running(project: Project) -> ObservedState:
    containers = []
    for name, service in project.services.items():
        digest, text = config_hash(project, service)
        containers.append(ObservedContainer(
            f"{name}".ljust(64, "0"), f"bench-{name}-1", name, 1, "running",
            config_hash=digest, config=FrozenMap(json.loads(text)), image_id="sha256:1",
            image_ref="busybox:local"))
    return ObservedState("bench", tuple(containers), FrozenMap(
        {"bench_default": ObservedNetwork("bench_default", "n1", "default", project="bench")}),
        images=FrozenMap({"busybox:local": "sha256:1"}))


def median(fn, runs: int = 3) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(sizes: list[int]) -> None:
    print("| services | dependency edges | plan_down s | operations | plan edges | "
          "cold plan_up s | operations | plan edges |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        project = layered(n)
        deps = sum(len(s.depends_on) for s in project.services.values())
        state = running(project)
        down_s, down = median(lambda: plan_down(project, state))
        empty = ObservedState("bench", images=FrozenMap({"busybox:local": "sha256:1"}))
        up_s, up = median(lambda: plan_up(project, empty))
        print(f"| {n} | {deps} | {down_s:.2f} | {len(down.operations)} | {down.edge_count()} | "
              f"{up_s:.2f} | {len(up.operations)} | {up.edge_count()} |")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [800, 2000, 5000])
