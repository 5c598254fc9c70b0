"""The engine floor: the benchmark stacks' containers driven straight through the Docker SDK.

No stack file, no model, no dependency graph, no observed state, no diff: a network is created,
then every container is created and started from a pool of 16 threads, in no particular order
(dependencies are ignored). It is what the engine itself costs, plus one Python process start
and the SDK import, so a Python orchestrator close to it has little left to win.

Commands (each is one process, timed whole by the harness):

    floor.py up       --project P --n N --shape S [--change none|one|all]
    floor.py recreate --project P --n N --shape S --change one|none|all  # stop, rm, create, start
    floor.py down     --project P                                    # stop+rm, network, volumes

Resources carry the label ``bench.floor.project=P``; ``down`` removes exactly those.
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
from docker.errors import APIError, NotFound

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stacks  # noqa: E402

LABEL = "bench.floor.project"
THREADS = 16
STOP_TIMEOUT = 10


def client() -> docker.APIClient:
    base = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    # A fixed API version skips the version handshake; 1.41 is Engine 20.10, which newer
    # engines accept too.
    return docker.APIClient(base_url=base, version="1.41", timeout=120)


def network_name(project: str) -> str:
    return f"{project}_default"


def container_name(project: str, service: str) -> str:
    return f"{project}-{service}-1"


def _run_all(func, items) -> None:  # type: ignore[no-untyped-def]
    """Run func over items in the pool; raise the first error after all have finished."""
    items = list(items)
    if not items:
        return
    errors: list[BaseException] = []
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for future in [pool.submit(func, item) for item in items]:
            error = future.exception()
            if error is not None:
                errors.append(error)
    if errors:
        raise SystemExit(f"floor: {len(errors)} of {len(items)} operations failed; "
                         f"first: {errors[0]}")


def _create_and_start(api: docker.APIClient, project: str, net: str,
                      service: stacks.BenchService) -> None:
    created = api.create_container(
        image=service.image, command=list(service.command), name=container_name(project, service.name),
        environment=dict(service.environment),
        labels={LABEL: project, f"{LABEL}.service": service.name},
        host_config=api.create_host_config(network_mode=net),
        networking_config=api.create_networking_config(
            {net: api.create_endpoint_config(aliases=[service.name])}))
    api.start(created["Id"])


def up(project: str, n: int, shape: str, change: str) -> None:
    api = client()
    net = network_name(project)
    try:
        api.create_network(net, driver="bridge", labels={LABEL: project}, check_duplicate=True)
    except APIError as error:
        if error.status_code != 409:
            raise
    services = stacks.build(n, shape, change)
    _run_all(lambda s: _create_and_start(api, project, net, s), services)


def recreate(project: str, n: int, shape: str, change: str) -> None:
    """What a changed service costs at the engine: stop, remove, create, start; no diff."""
    api = client()
    net = network_name(project)
    services = stacks.build(n, shape, change)
    if change in ("one", "none"):  # none: s000 back to generation 1 (a repeated "one changed")
        wanted = {stacks.changed_service(n)}
        services = [s for s in services if s.name in wanted]

    def again(service: stacks.BenchService) -> None:
        name = container_name(project, service.name)
        try:
            api.stop(name, timeout=STOP_TIMEOUT)
            api.remove_container(name, v=True, force=True)
        except NotFound:
            pass
        _create_and_start(api, project, net, service)

    _run_all(again, services)


def down(project: str) -> None:
    api = client()
    selector = {"label": f"{LABEL}={project}"}
    found = api.containers(all=True, filters=selector)

    def stop_and_remove(container: dict) -> None:  # type: ignore[type-arg]
        try:
            if container.get("State") in ("running", "restarting", "paused"):
                api.stop(container["Id"], timeout=STOP_TIMEOUT)
            api.remove_container(container["Id"], v=True, force=True)
        except NotFound:
            pass

    _run_all(stop_and_remove, found)
    for network in api.networks(filters=selector):
        try:
            api.remove_network(network["Id"])
        except NotFound:
            pass
    volumes = (api.volumes(filters=selector) or {}).get("Volumes") or []
    _run_all(lambda v: api.remove_volume(v["Name"], force=True), volumes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("up", "recreate", "down"))
    parser.add_argument("--project", required=True)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--shape", choices=stacks.SHAPES, default="wide")
    parser.add_argument("--change", choices=stacks.CHANGES, default="none")
    args = parser.parse_args()
    if args.command == "up":
        up(args.project, args.n, args.shape, args.change)
    elif args.command == "recreate":
        recreate(args.project, args.n, args.shape, args.change)
    else:
        down(args.project)


if __name__ == "__main__":
    main()
