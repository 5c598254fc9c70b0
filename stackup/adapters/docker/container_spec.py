"""Service → the engine's container-create arguments. Pure: no I/O, no ``docker`` import.

Pipeline position: ``execute`` asks the engine adapter (``adapters/docker/``) to create a
container for (project, service, number); the adapter calls ``container_create_args`` here to
translate the typed model into the arguments of the Docker SDK's low-level
``APIClient.create_container(**args)`` (``host_config``/``networking_config`` are raw engine-API
dicts), and ``extra_networks`` for the networks connected after create. Everything the adapter
has to look up in the engine first (the container behind ``network_mode: service:x``, anonymous
volumes carried over from a previous container) comes in as plain arguments.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from stackup.core import labels as L
from stackup.core.apibody import healthcheck_config
from stackup.adapters.docker.container_extras import check_api, endpoint_extras, host_extras
from stackup.adapters.docker.container_limits import limit_settings
from stackup.adapters.docker.resource_specs import STACKUP_VERSION
from stackup.core.model import Mount, Project, Service, ServiceNetwork

NANO = 1_000_000_000


def container_create_args(
    project: Project, service: Service, number: int, *, name: str, config_hash: str,
    config_json: str, image: str, network_names: Mapping[str, str] | None = None,
    network_mode_container: str | None = None,
    anonymous_volumes: Mapping[str, str] | None = None, oneoff: bool = False,
    linked: Mapping[str, Sequence[str]] | None = None, api_version: str | None = None,
    image_volumes: Sequence[str] = (), engine_os: str = "linux", socket: str | None = None,
) -> dict[str, Any]:
    """The keyword arguments for ``APIClient.create_container`` (plus ``healthcheck`` as a raw
    engine dict, which the adapter puts on the config itself).

    ``network_names`` maps network keys to engine names (default: ``project.networks[key].name``);
    ``network_mode_container`` is the id behind ``network_mode: service:x``;
    ``anonymous_volumes`` maps container paths to existing anonymous volume names to reuse;
    ``image_volumes`` are the paths the image declares (``VOLUME``), mounted as labelled
    anonymous volumes where nothing else is (the engine would make them without labels).
    ``engine_os`` and ``socket`` (the engine's unix socket on this machine, if any) are for
    ``credential_spec`` and ``use_api_socket`` (``container_limits``).
    Secrets and configs are not in here: they are copied into the container after create
    (``resources.file_deliveries``), never bind-mounted, so no argument carries their content.
    """
    host: dict[str, Any] = {}
    args: dict[str, Any] = {"image": image, "name": name, "detach": True}

    if service.command is not None:
        args["command"] = list(service.command)
    if service.entrypoint is not None:
        args["entrypoint"] = list(service.entrypoint)
    env = [f"{k}={v}" for k, v in service.environment.items() if v is not None]
    if env:
        args["environment"] = env
    for key, value in (("hostname", service.hostname), ("domainname", service.domainname),
                       ("user", service.user), ("working_dir", service.working_dir),
                       ("stop_signal", service.stop_signal), ("platform", service.platform)):
        if value is not None:
            args[key] = value
    if service.tty:
        args["tty"] = True
    if service.stdin_open:
        args["stdin_open"] = True
    if service.stop_grace_period is not None:
        args["stop_timeout"] = math.ceil(service.stop_grace_period)
    args["labels"] = container_labels(project.name, service, number, config_hash=config_hash,
                                      config_json=config_json, image=image, oneoff=oneoff)
    args["labels"].update(compose_container_labels(project, service, number,
                                                   config_hash=config_hash, oneoff=oneoff))
    if anonymous_volumes:
        args["labels"][L.CARRIED_VOLUMES] = ",".join(sorted(set(anonymous_volumes.values())))
    if service.healthcheck is not None:
        args["healthcheck"] = healthcheck_config(service.healthcheck)

    exposed, bindings = port_config(service)
    if exposed:
        args["ports"] = exposed
    if bindings:
        host["PortBindings"] = bindings

    _mounts(project, service, host, anonymous_volumes or {}, image_volumes)
    if api_version is not None:
        check_api(service, api_version)  # a key this engine would ignore: refuse, naming it
    _networking(project, service, args, host, network_names, network_mode_container)
    host.update(host_settings(service))
    host.update(host_extras(service, linked or {}))  # ``linked``: services' container names
    for key, value in limit_settings(service, engine_os=engine_os, socket=socket).items():
        if key in ("Binds", "SecurityOpt") and key in host:
            host[key] = [*host[key], *value]
        else:
            host[key] = value
    if host.get("Links") and "networking_config" in args:
        for endpoint in args["networking_config"]["EndpointsConfig"].values():
            endpoint["Links"] = host["Links"]
    args["host_config"] = host
    return args


def container_labels(project_name: str, service: Service, number: int, *, config_hash: str,
                     config_json: str, image: str, oneoff: bool = False) -> dict[str, str]:
    """The service's own labels plus the ownership labels stackup finds containers by."""
    labels = dict(service.labels)
    labels.update({
        L.PROJECT: project_name, L.SERVICE: service.name, L.NUMBER: str(number),
        L.CONFIG_HASH: config_hash, L.CONFIG: config_json, L.IMAGE: image,
        L.VERSION: STACKUP_VERSION,
    })
    if oneoff:
        labels[L.ONEOFF] = "True"
    return labels


def compose_container_labels(project: Project, service: Service, number: int, *,
                             config_hash: str, oneoff: bool = False) -> dict[str, str]:
    """Docker Compose's labels, so that ``docker compose ps/logs/down -p <project>`` see the
    container as their own. Compose's config hash is computed from its own model and cannot be
    matched: ``com.docker.compose.config-hash`` holds stackup's hash, so a later
    ``docker compose up`` recreates the container once (and the reverse: see reconcile)."""
    return {
        L.COMPOSE_PROJECT: project.name, L.COMPOSE_SERVICE: service.name,
        L.COMPOSE_NUMBER: str(number), L.COMPOSE_ONEOFF: "True" if oneoff else "False",
        L.COMPOSE_CONFIG_HASH: config_hash, L.COMPOSE_VERSION: L.COMPOSE_LABELS_VERSION,
        L.COMPOSE_WORKING_DIR: project.working_dir,
        L.COMPOSE_CONFIG_FILES: ",".join(project.config_files),
        L.COMPOSE_DEPENDS_ON: ",".join(f"{d.service}:{d.condition}:{str(d.restart).lower()}"
                                       for d in service.depends_on),
    }


PortBindings = dict[str, list[dict[str, str]]]


def port_config(service: Service) -> tuple[dict[str, dict[str, Any]], PortBindings]:
    """(ExposedPorts, PortBindings): ``ports`` are published (a range stays a host range
    string), ``expose`` entries are only exposed."""
    exposed: dict[str, dict[str, Any]] = {}
    bindings: PortBindings = {}
    for port in service.ports:
        key = f"{port.target}/{port.protocol or 'tcp'}"
        exposed[key] = {}
        bindings.setdefault(key, []).append(
            {"HostIp": port.host_ip or "", "HostPort": port.published or ""})
    for entry in service.expose:
        spec, _, proto = str(entry).partition("/")
        first, _, last = spec.partition("-")
        for number in range(int(first), int(last or first) + 1):
            exposed.setdefault(f"{number}/{proto or 'tcp'}", {})
    return exposed, bindings


# --- volumes and tmpfs ---------------------------------------------------------------------


def _mounts(project: Project, service: Service, host: dict[str, Any],
            anonymous: Mapping[str, str], image_volumes: Sequence[str] = ()) -> None:
    mounts: list[dict[str, Any]] = []
    binds: list[str] = []
    for mount in service.volumes:
        if mount.type == "bind" and mount.create_host_path and not mount.consistency:
            binds.append(bind_string(mount))
        else:
            mounts.append(mount_config(project, mount, anonymous))
            if mount.type == "volume" and not mount.source and mount.target not in anonymous:
                options = mounts[-1].setdefault("VolumeOptions", {})
                options["Labels"] = anonymous_volume_labels(project, service, mount.target)
    targets = {m.target for m in service.volumes}
    for target, volume_name in sorted(anonymous.items()):
        if target not in targets:  # anonymous volumes the image declares (VOLUME)
            mounts.append({"Type": "volume", "Source": volume_name, "Target": target})
    taken = {*targets, *anonymous, *(t.partition(":")[0] for t in service.tmpfs)}
    if not service.volumes_from:  # a path volumes_from provides stays that container's
        for target in sorted(set(image_volumes) - taken):
            mounts.append({"Type": "volume", "Target": target, "VolumeOptions": {
                "Labels": anonymous_volume_labels(project, service, target)}})
    if binds:
        host["Binds"] = binds
    if mounts:
        host["Mounts"] = mounts
    if service.tmpfs:
        host["Tmpfs"] = {t.partition(":")[0]: t.partition(":")[2] for t in service.tmpfs}


def anonymous_volume_labels(project: Project, service: Service, target: str) -> dict[str, str]:
    """The labels of an anonymous volume the engine creates for a new container: the
    project's (stackup's and Compose's), so that ``down -v`` finds it after a plain ``down``
    removed the container that mounted it. Only the volume carries them: the container's
    config hash, computed from the model, does not change."""
    return {L.PROJECT: project.name, L.ANONYMOUS_VOLUME: f"{service.name}:{target}",
            L.VERSION: STACKUP_VERSION, L.COMPOSE_PROJECT: project.name,
            L.ENGINE_ANONYMOUS: ""}


def bind_string(mount: Mount) -> str:
    """A ``Binds`` entry (``src:dst[:opts]``); unlike ``Mounts`` it creates a missing source."""
    opts = ["ro" if mount.read_only else "rw"]
    if mount.selinux:
        opts.append(mount.selinux)
    if mount.propagation:
        opts.append(mount.propagation)
    return f"{mount.source}:{mount.target}:{','.join(opts)}"


def mount_config(project: Project, mount: Mount, anonymous: Mapping[str, str]) -> dict[str, Any]:
    """One engine ``Mounts`` entry for a volume, bind or tmpfs service volume."""
    out: dict[str, Any] = {"Type": mount.type, "Target": mount.target}
    if mount.read_only:
        out["ReadOnly"] = True
    if mount.consistency:
        out["Consistency"] = mount.consistency
    if mount.type == "volume":
        if mount.source:
            declared = project.volumes.get(mount.source)
            out["Source"] = declared.name if declared is not None else mount.source
        elif mount.target in anonymous:
            out["Source"] = anonymous[mount.target]
        options: dict[str, Any] = {}
        if mount.nocopy:
            options["NoCopy"] = True
        if mount.subpath:
            options["Subpath"] = mount.subpath
        if options:
            out["VolumeOptions"] = options
    elif mount.type == "bind":
        out["Source"] = mount.source
        if mount.propagation:
            out["BindOptions"] = {"Propagation": mount.propagation}
    elif mount.type == "tmpfs":
        tmpfs: dict[str, Any] = {}
        if mount.tmpfs_size is not None:
            tmpfs["SizeBytes"] = mount.tmpfs_size
        if mount.tmpfs_mode is not None:
            tmpfs["Mode"] = mount.tmpfs_mode
        if tmpfs:
            out["TmpfsOptions"] = tmpfs
    elif mount.source:
        out["Source"] = mount.source
    return out


# --- networks ------------------------------------------------------------------------------


def ordered_networks(service: Service) -> list[ServiceNetwork]:
    """The service's networks, highest ``priority`` first, then by name (stable)."""
    return sorted(service.networks, key=lambda n: (-n.priority, n.name))


def network_engine_name(project: Project, key: str,
                        network_names: Mapping[str, str] | None = None) -> str:
    if network_names and key in network_names:
        return network_names[key]
    declared = project.networks.get(key)
    return declared.name if declared is not None else f"{project.name}_{key}"


def endpoint_config(service: Service, attachment: ServiceNetwork) -> dict[str, Any]:
    """An engine ``EndpointSettings``: the service name is always an alias, as in Compose."""
    aliases = list(dict.fromkeys([service.name, *attachment.aliases]))
    out: dict[str, Any] = {"Aliases": aliases}
    ipam: dict[str, Any] = {}
    if attachment.ipv4_address:
        ipam["IPv4Address"] = attachment.ipv4_address
    if attachment.ipv6_address:
        ipam["IPv6Address"] = attachment.ipv6_address
    if attachment.link_local_ips:
        ipam["LinkLocalIPs"] = list(attachment.link_local_ips)
    if ipam:
        out["IPAMConfig"] = ipam
    if attachment.mac_address:
        out["MacAddress"] = attachment.mac_address
    out.update(endpoint_extras(attachment))
    return out


def connect_args(project: Project, service: Service, key: str) -> tuple[str, dict[str, Any]]:
    """(engine network name, ``connect_container_to_network`` kwargs) for one of the service's
    networks: its aliases and addresses, as at create."""
    attachment = next(a for a in service.networks if a.name == key)
    endpoint = endpoint_config(service, attachment)
    ipam = endpoint.get("IPAMConfig", {})
    kwargs: dict[str, Any] = {"aliases": endpoint["Aliases"]}
    for arg, name in (("ipv4_address", "IPv4Address"), ("ipv6_address", "IPv6Address"),
                      ("link_local_ips", "LinkLocalIPs")):
        if name in ipam:
            kwargs[arg] = ipam[name]
    if attachment.mac_address:
        kwargs["mac_address"] = attachment.mac_address
    if "DriverOpts" in endpoint:
        kwargs["driver_opt"] = endpoint["DriverOpts"]
    return network_engine_name(project, key), kwargs


def extra_networks(project: Project, service: Service,
                   network_names: Mapping[str, str] | None = None
                   ) -> list[tuple[str, dict[str, Any]]]:
    """(engine network name, ``connect_container_to_network`` kwargs) for every network but
    the first, which the container is created on."""
    out: list[tuple[str, dict[str, Any]]] = []
    for attachment in ordered_networks(service)[1:]:
        _, kwargs = connect_args(project, service, attachment.name)
        out.append((network_engine_name(project, attachment.name, network_names), kwargs))
    return out


def _networking(project: Project, service: Service, args: dict[str, Any], host: dict[str, Any],
                network_names: Mapping[str, str] | None,
                network_mode_container: str | None) -> None:
    mode = service.network_mode
    if mode is not None:
        if mode.startswith("service:"):
            if not network_mode_container:
                raise ValueError(f"network_mode {mode!r} needs the container id of that service")
            host["NetworkMode"] = f"container:{network_mode_container}"
        else:
            host["NetworkMode"] = mode
        return
    networks = ordered_networks(service)
    if not networks:
        return
    first = networks[0]
    if service.mac_address and not first.mac_address:  # the service-level key: main network
        first = dataclasses.replace(first, mac_address=service.mac_address)
    engine_name = network_engine_name(project, first.name, network_names)
    host["NetworkMode"] = engine_name
    args["networking_config"] = {"EndpointsConfig": {engine_name: endpoint_config(service, first)}}
    if first.mac_address:
        args["mac_address"] = first.mac_address  # API 1.41 takes it on the container config


# --- everything else on HostConfig ------------------------------------------------------------


def restart_policy(service: Service) -> dict[str, Any] | None:
    """``restart`` wins; else ``deploy.restart_policy`` (none → no, any → always)."""
    if service.restart:
        policy, _, count = service.restart.partition(":")
        out: dict[str, Any] = {"Name": "" if policy == "no" else policy}
        if count:
            out["MaximumRetryCount"] = int(count)
        return out
    deploy_policy = service.deploy.restart_policy if service.deploy else None
    if deploy_policy is not None and deploy_policy.condition:
        name = {"none": "", "any": "always"}.get(deploy_policy.condition, deploy_policy.condition)
        out = {"Name": name}
        if name == "on-failure" and deploy_policy.max_attempts is not None:
            out["MaximumRetryCount"] = deploy_policy.max_attempts
        return out
    return None


def device_config(spec: str) -> dict[str, str]:
    """``/dev/x[:/dev/y[:rwm]]`` → an engine ``DeviceMapping``."""
    parts = spec.split(":")
    on_host = parts[0]
    in_container = parts[1] if len(parts) > 1 and parts[1] else on_host
    perms = parts[2] if len(parts) > 2 else "rwm"
    return {"PathOnHost": on_host, "PathInContainer": in_container, "CgroupPermissions": perms}


def host_settings(service: Service) -> dict[str, Any]:
    """HostConfig entries other than ports, mounts and networking."""
    host: dict[str, Any] = {}
    policy = restart_policy(service)
    if policy is not None:
        host["RestartPolicy"] = policy
    lists = (("ExtraHosts", [h.replace("=", ":", 1) if "=" in h else h
                             for h in service.extra_hosts]),
             ("Dns", list(service.dns)), ("DnsSearch", list(service.dns_search)),
             ("DnsOptions", list(service.dns_opt)), ("CapAdd", list(service.cap_add)),
             ("CapDrop", list(service.cap_drop)), ("SecurityOpt", list(service.security_opt)),
             ("GroupAdd", list(service.group_add)),
             ("Devices", [device_config(d) for d in service.devices]),
             ("Ulimits", [{"Name": u.name, "Soft": u.soft, "Hard": u.hard}
                          for u in service.ulimits]))
    for key, values in lists:
        if values:
            host[key] = values
    if service.sysctls:
        host["Sysctls"] = dict(service.sysctls)
    if service.privileged:
        host["Privileged"] = True
    if service.read_only:
        host["ReadonlyRootfs"] = True
    if service.init is not None:
        host["Init"] = service.init
    limits = service.deploy.limits if service.deploy else None
    reservations = service.deploy.reservations if service.deploy else None
    memory = service.mem_limit if service.mem_limit is not None else (limits and limits.memory)
    reserved = (service.mem_reservation if service.mem_reservation is not None
                else (reservations and reservations.memory))
    cpus = service.cpus if service.cpus is not None else (limits and limits.cpus)
    pids = service.pids_limit if service.pids_limit is not None else (limits and limits.pids)
    scalars = (("ShmSize", service.shm_size), ("Memory", memory),
               ("MemoryReservation", reserved),
               ("NanoCpus", int(round(cpus * NANO)) if cpus else None),
               ("CpuShares", service.cpu_shares), ("PidsLimit", pids),
               ("IpcMode", service.ipc), ("PidMode", service.pid))
    for key, value in scalars:
        if value is not None:
            host[key] = value
    if service.logging is not None and (service.logging.driver or service.logging.options):
        host["LogConfig"] = {"Type": service.logging.driver or "",
                             "Config": dict(service.logging.options)}
    return host
