"""What a swarm cannot do, refused at plan time with the key and the line it was written on.

Pipeline position: after the loader, before ``swarm.reconcile``; pure (no I/O). ``refusals``
inspects the model (and, for keys the model drops such as ``links``, the merged located tree the
loader built); ``refuse`` raises one ``SpecError`` listing every refusal, located at the first.

Locations: the model keeps none, so the key path of each refusal (``services.web.ports[0]``) is
looked up in the loader's located tree (``loader.located``), which the Swarm CLI keeps from the
same load. Without a tree the paths are still named, without lines.

``docker stack deploy`` silently drops most of these; here nothing the file asks for is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stackup.core.errors import Location, SpecError
from stackup.loader.located import locate
from stackup.core.model import Project, Service
from stackup.core.swarm_objects import content_sha256
from stackup.swarm.spec import is_job

_SERVICE_REFUSED: tuple[tuple[str, str], ...] = (
    ("container_name", "a swarm names its tasks itself; remove container_name"),
    ("privileged", "swarm services cannot run privileged containers"),
    ("devices", "swarm services cannot map host devices"),
    ("ipc", "swarm services cannot share an IPC namespace"),
    ("pid", "swarm services cannot share a PID namespace"),
    ("security_opt", "swarm services take no security_opt"),
    ("shm_size", "swarm services take no shm_size; mount a tmpfs at /dev/shm instead"),
    ("domainname", "swarm services take no domainname"),
    ("cpu_shares", "swarm services take no cpu_shares; use deploy.resources"),
    ("platform", "swarm services take no platform; use deploy.placement.constraints"),
    # the single-engine limits and modes of issue 20: a swarm service spec has none of them
    *((key, f"swarm services take no {key}{hint}") for key, hint in (
        ("cpu_count", "; use deploy.resources"), ("cpu_percent", "; use deploy.resources"),
        ("cpu_period", "; use deploy.resources"), ("cpu_quota", "; use deploy.resources"),
        ("cpu_rt_period", ""), ("cpu_rt_runtime", ""), ("mem_swappiness", ""),
        ("memswap_limit", ""), ("oom_kill_disable", ""), ("blkio_config", ""),
        ("device_cgroup_rules", ""), ("storage_opt", ""), ("uts", ""), ("cgroup", ""),
        ("isolation", ""), ("annotations", ""), ("credential_spec", ""),
        ("use_api_socket", "; mount the socket as a bind volume"))),
)
_TREE_REFUSED = (("links", "links do not exist on a swarm: services find each other by name on "
                           "a shared network"),
                 ("external_links", "external_links do not exist on a swarm: attach the "
                                    "service to the other stack's network"))
_SWARM_DRIVERS = frozenset({"overlay"})


@dataclass(frozen=True, slots=True)
class Refusal:
    path: str  # key path, e.g. "services.web.container_name"
    message: str


def refusals(project: Project, tree: Mapping[str, Any] | None = None, *,
             nodes: int = 1) -> list[Refusal]:
    """Every setting of ``project`` a swarm cannot honour (``nodes``: the swarm's size)."""
    out: list[Refusal] = []
    raw_services = (tree or {}).get("services") or {}
    for name, service in project.services.items():
        base = f"services.{name}"
        for key, message in _SERVICE_REFUSED:
            value = getattr(service, key)
            if value not in (None, False, (), "") and value != {}:  # {}: an empty FrozenMap
                out.append(Refusal(f"{base}.{key}", message))
        if service.network_mode is not None:
            out.append(Refusal(f"{base}.network_mode", _network_mode(service.network_mode)))
        raw = raw_services.get(name) if isinstance(raw_services, Mapping) else None
        for key, message in _TREE_REFUSED:
            if isinstance(raw, Mapping) and raw.get(key):
                out.append(Refusal(f"{base}.{key}", message))
        out.extend(_service_values(project, service, base, nodes))
    for key, network in project.networks.items():
        if not network.external and (network.driver or "overlay") not in _SWARM_DRIVERS:
            out.append(Refusal(f"networks.{key}.driver",
                               f"a {network.driver} network is local to one engine; swarm "
                               f"services need overlay networks (remove driver)"))
    for section, table in (("secrets", project.secrets), ("configs", project.configs)):
        for key, obj in table.items():
            if not obj.external and content_sha256(obj) is None:
                out.append(Refusal(f"{section}.{key}.file",
                                   f"cannot read {obj.file}: a swarm {section[:-1]} needs "
                                   f"its content"))
    return out


def _service_values(project: Project, service: Service, base: str, nodes: int
                    ) -> list[Refusal]:
    out: list[Refusal] = []
    deploy = service.deploy
    dnsrr = deploy is not None and deploy.endpoint_mode == "dnsrr"
    for i, port in enumerate(service.ports):
        where = f"{base}.ports[{i}]"
        if port.host_ip:
            out.append(Refusal(where, f"a swarm publishes on every address, not only on "
                                      f"{port.host_ip}: remove the address (or firewall it)"))
        if port.published and not port.published.isdigit():
            out.append(Refusal(where, f"a swarm publishes one port per target, not the range "
                                      f"{port.published}"))
        if dnsrr and port.mode == "ingress":
            out.append(Refusal(where, "ingress ports need endpoint_mode vip; with dnsrr "
                                      "publish in mode: host"))
    for i, net in enumerate(service.networks):
        for attr in ("ipv4_address", "ipv6_address", "mac_address"):
            if getattr(net, attr):
                out.append(Refusal(f"{base}.networks.{net.name}.{attr}",
                                   f"a swarm assigns task addresses itself; remove {attr}"))
        if net.link_local_ips:
            out.append(Refusal(f"{base}.networks.{net.name}.link_local_ips",
                               "swarm services take no link_local_ips"))
    for i, mount in enumerate(service.volumes):
        where = f"{base}.volumes[{i}]"
        if mount.type not in ("volume", "bind", "tmpfs"):
            out.append(Refusal(where, f"swarm services cannot mount a {mount.type}"))
        if mount.subpath:
            out.append(Refusal(where, "this engine's swarm API has no volume subpath"))
        if mount.selinux:
            out.append(Refusal(where, "swarm services take no SELinux relabel (:z/:Z)"))
    for i, entry in enumerate(service.tmpfs):
        if ":" in entry:
            out.append(Refusal(f"{base}.tmpfs[{i}]", "swarm tmpfs takes no options here; use "
                                                     "the long volume syntax with tmpfs.size"))
    if service.healthcheck is not None and service.healthcheck.start_interval is not None:
        out.append(Refusal(f"{base}.healthcheck.start_interval",
                           "this engine's swarm API has no start_interval"))
    if deploy is not None and deploy.reservations is not None \
            and deploy.reservations.pids is not None:
        out.append(Refusal(f"{base}.deploy.resources.reservations.pids",
                           "a swarm reserves no pids"))
    if service.build is not None and nodes > 1 and service.image is None:
        out.append(Refusal(f"{base}.build",
                           f"on a swarm of {nodes} nodes a built image must be pushed: give "
                           f"the service an image: name in a registry the nodes can pull from"))
    for dep in service.depends_on:
        target = project.services.get(dep.service)
        if dep.condition == "service_completed_successfully" and target is not None \
                and not is_job(target) and restarts(target):
            out.append(Refusal(f"{base}.depends_on.{dep.service}",
                               f"{dep.service} never completes on a swarm, which restarts it: "
                               f"give it deploy.mode: replicated-job (or restart_policy "
                               f"condition: none)"))
    return out


def restarts(service: Service) -> bool:
    """Whether the swarm restarts the service's tasks when they exit 0."""
    policy = service.deploy.restart_policy if service.deploy is not None else None
    if policy is not None and policy.condition is not None:
        return policy.condition == "any"
    return service.restart in (None, "always", "unless-stopped")


def _network_mode(mode: str) -> str:
    if mode.startswith("service:") or mode.startswith("container:"):
        return (f"swarm tasks cannot share another's network namespace ({mode}); put both "
                f"services on one network")
    if mode == "host":
        return "use networks: {hostnet: {external: true, name: host}} on a swarm"
    return f"swarm services join networks, not network_mode {mode}; use networks:"


def refuse(project: Project, tree: Mapping[str, Any] | None = None, *, nodes: int = 1) -> None:
    """Raise one SpecError naming every refusal, located at the first (no-op when none)."""
    found = [(locate(tree, r.path), r) for r in refusals(project, tree, nodes=nodes)]
    if not found:
        return
    found.sort(key=lambda pair: (pair[0].file, pair[0].line) if pair[0] is not None
               else ("", 0))  # in the order they were written
    lines = []
    for loc, refusal in found:
        where = f" ({loc.file}:{loc.line})" if loc is not None and loc.line else ""
        lines.append(f"  {refusal.path}{where}: {refusal.message}")
    count = len(found)
    raise SpecError(f"{count} setting{'s' if count > 1 else ''} cannot be deployed to a swarm",
                    detail="\n".join(lines), location=found[0][0])
