"""Service → a Swarm ``ServiceSpec`` as plain, JSON-able dicts in the engine API's own shape.

Pipeline position: pure helper of ``swarm.reconcile``, which puts the spec's canonical JSON in
the create/update operation (``config_json``) and its sha256 in ``config_hash``; the Swarm
backend sends it as is, after resolving secret and config names to ids. No I/O.

What is refused (``network_mode``, ``container_name``, ...) is refused earlier by
``swarm.check``; this module maps everything else, field by field:
deploy (mode, replicas, resources, placement, restart_policy, update_config, rollback_config,
labels, endpoint_mode), ports (ingress or host mode), healthcheck, command/entrypoint,
environment, user, working_dir, hostname, networks (with the service's name as alias, as
``docker stack deploy`` does), named and anonymous volumes, binds, tmpfs, secrets and configs by
object name. Durations are nanoseconds, CPUs are nano-CPUs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stackup.core import labels as L
from stackup.core.apibody import healthcheck_config
from stackup.core.model import Mount, Project, Resources, Service, UpdateConfig
from stackup.core.swarm_objects import (NS, STACK_IMAGE, STACK_NAMESPACE, owner_labels,
                                   service_name, volume_labels)

JOB_MODES = frozenset({"replicated-job", "global-job"})


def is_job(service: Service) -> bool:
    return service.deploy is not None and service.deploy.mode in JOB_MODES


def service_spec(project: Project, service: Service, *, secret_names: Mapping[str, str],
                 config_names: Mapping[str, str], replicas: int | None = None) -> dict[str, Any]:
    """The ServiceSpec of ``service``. ``secret_names``/``config_names`` map stack-file keys to
    swarm object names; ``replicas`` overrides the file's. The image's id is not in here: the
    backend labels the task template with the id the image has when the service is created or
    updated (``objects.IMAGE_ID``), so that a rebuilt image rolls the tasks."""
    image = service.image_ref(project.name)
    deploy = service.deploy
    labels = dict(deploy.labels) if deploy is not None else {}
    labels.update(owner_labels(project.name))
    labels.update({L.SERVICE: service.name, L.IMAGE: image, STACK_IMAGE: image})
    task: dict[str, Any] = {
        "ContainerSpec": _container(project, service, image, secret_names, config_names)}
    resources = _resources(service)
    if resources:
        task["Resources"] = resources
    restart = _restart_policy(service)
    if restart:
        task["RestartPolicy"] = restart
    if deploy is not None and deploy.placement_constraints:
        task["Placement"] = {"Constraints": list(deploy.placement_constraints)}
    networks = [{"Target": project.networks[n.name].name if n.name in project.networks
                 else n.name, "Aliases": _unique([service.name, *n.aliases])}
                for n in service.networks]
    if networks:
        task["Networks"] = sorted(networks, key=lambda n: n["Target"])
    if service.logging is not None and service.logging.driver:
        task["LogDriver"] = {"Name": service.logging.driver,
                             "Options": dict(service.logging.options)}
    spec: dict[str, Any] = {"Name": service_name(project.name, service.name), "Labels": labels,
                            "TaskTemplate": task, "Mode": _mode(service, replicas)}
    if not is_job(service) and deploy is not None:
        if deploy.update_config is not None:
            spec["UpdateConfig"] = _update(deploy.update_config)
        if deploy.rollback_config is not None:
            spec["RollbackConfig"] = _update(deploy.rollback_config)
    endpoint = _endpoint(service)
    if endpoint:
        spec["EndpointSpec"] = endpoint
    return spec


def replicas_of(service: Service, override: int | None = None) -> int:
    return override if override is not None else service.replicas


def _mode(service: Service, replicas: int | None) -> dict[str, Any]:
    mode = (service.deploy.mode if service.deploy is not None else None) or "replicated"
    count = replicas_of(service, replicas)
    if mode == "global":
        return {"Global": {}}
    if mode == "global-job":
        return {"GlobalJob": {}}
    if mode == "replicated-job":
        return {"ReplicatedJob": {"MaxConcurrent": count, "TotalCompletions": count}}
    return {"Replicated": {"Replicas": count}}


def _container(project: Project, service: Service, image: str, secret_names: Mapping[str, str], config_names: Mapping[str, str]
               ) -> dict[str, Any]:
    labels = dict(service.labels)
    labels[STACK_NAMESPACE] = project.name
    spec: dict[str, Any] = {"Image": image, "Labels": labels}
    if service.entrypoint is not None:
        spec["Command"] = list(service.entrypoint)
    if service.command is not None:
        spec["Args"] = list(service.command)
    env = sorted(f"{k}={v}" for k, v in service.environment.items() if v is not None)
    if env:
        spec["Env"] = env
    for key, value in (("Hostname", service.hostname), ("User", service.user),
                       ("Dir", service.working_dir), ("StopSignal", service.stop_signal)):
        if value is not None:
            spec[key] = value
    if service.group_add:
        spec["Groups"] = list(service.group_add)
    if service.stop_grace_period is not None:
        spec["StopGracePeriod"] = _ns(service.stop_grace_period)
    for key, flag in (("ReadOnly", service.read_only), ("TTY", service.tty),
                      ("OpenStdin", service.stdin_open)):
        if flag:
            spec[key] = True
    if service.init is not None:
        spec["Init"] = service.init
    if service.extra_hosts:
        spec["Hosts"] = [_host_entry(h) for h in service.extra_hosts]
    dns = {key: list(values) for key, values in (("Nameservers", service.dns),
           ("Search", service.dns_search), ("Options", service.dns_opt)) if values}
    if dns:
        spec["DNSConfig"] = dns
    if service.sysctls:
        spec["Sysctls"] = dict(sorted(service.sysctls.items()))
    if service.cap_add:
        spec["CapabilityAdd"] = sorted(service.cap_add)
    if service.cap_drop:
        spec["CapabilityDrop"] = sorted(service.cap_drop)
    if service.ulimits:
        spec["Ulimits"] = [{"Name": u.name, "Soft": u.soft, "Hard": u.hard}
                           for u in sorted(service.ulimits, key=lambda u: u.name)]
    if service.healthcheck is not None:
        spec["Healthcheck"] = healthcheck_config(service.healthcheck, start_interval=False)
    mounts = [_mount(project, m) for m in service.volumes]
    mounts += [{"Type": "tmpfs", "Target": t.split(":", 1)[0]} for t in service.tmpfs]
    if mounts:
        spec["Mounts"] = mounts
    secrets = [_file_ref(r, secret_names, r.target or r.source, "Secret")
               for r in service.secrets]
    if secrets:
        spec["Secrets"] = sorted(secrets, key=lambda s: s["File"]["Name"])
    configs = [_file_ref(r, config_names, r.target or f"/{r.source}", "Config")
               for r in service.configs]
    if configs:
        spec["Configs"] = sorted(configs, key=lambda c: c["File"]["Name"])
    return spec


def _mount(project: Project, mount: Mount) -> dict[str, Any]:
    out: dict[str, Any] = {"Type": mount.type, "Target": mount.target}
    if mount.read_only:
        out["ReadOnly"] = True
    if mount.type == "volume":
        options: dict[str, Any] = {}
        volume = project.volumes.get(mount.source) if mount.source else None
        if volume is not None:
            out["Source"] = volume.name
            if not volume.external:
                options["Labels"] = volume_labels(project.name, volume)
                if volume.driver or volume.driver_opts:
                    options["DriverConfig"] = {"Name": volume.driver or "local",
                                               "Options": dict(volume.driver_opts)}
        elif mount.source:
            out["Source"] = mount.source
        if mount.nocopy:
            options["NoCopy"] = True
        if options:
            out["VolumeOptions"] = options
    elif mount.type == "bind":
        out["Source"] = mount.source
        if mount.propagation:
            out["BindOptions"] = {"Propagation": mount.propagation}
    elif mount.type == "tmpfs":
        tmpfs = {key: value for key, value in (("SizeBytes", mount.tmpfs_size),
                                               ("Mode", mount.tmpfs_mode)) if value is not None}
        if tmpfs:
            out["TmpfsOptions"] = tmpfs
    return out


def _file_ref(ref: Any, names: Mapping[str, str], target: str, kind: str) -> dict[str, Any]:
    return {"File": {"Name": target, "UID": ref.uid or "0", "GID": ref.gid or "0",
                     "Mode": ref.mode if ref.mode is not None else 0o444},
            f"{kind}Name": names.get(ref.source, ref.source)}


def _resources(service: Service) -> dict[str, Any]:
    deploy = service.deploy
    limits = deploy.limits if deploy is not None and deploy.limits is not None else Resources(
        cpus=service.cpus, memory=service.mem_limit, pids=service.pids_limit)
    reservations = (deploy.reservations if deploy is not None and deploy.reservations
                    is not None else Resources(memory=service.mem_reservation))
    out = {}
    for key, res in (("Limits", limits), ("Reservations", reservations)):
        entry: dict[str, Any] = {}
        if res.cpus is not None:
            entry["NanoCPUs"] = int(round(res.cpus * NS))
        if res.memory is not None:
            entry["MemoryBytes"] = res.memory
        if res.pids is not None and key == "Limits":
            entry["Pids"] = res.pids
        if entry:
            out[key] = entry
    return out


def _restart_policy(service: Service) -> dict[str, Any]:
    policy = service.deploy.restart_policy if service.deploy is not None else None
    if policy is not None:
        out: dict[str, Any] = {}
        if policy.condition is not None:
            out["Condition"] = policy.condition
        if policy.delay is not None:
            out["Delay"] = _ns(policy.delay)
        if policy.max_attempts is not None:
            out["MaxAttempts"] = policy.max_attempts
        if policy.window is not None:
            out["Window"] = _ns(policy.window)
        return out
    restart = service.restart
    if restart is None:
        return {}
    if restart == "no":
        return {"Condition": "none"}
    if restart.startswith("on-failure"):
        attempts = restart.partition(":")[2]
        return {"Condition": "on-failure", **({"MaxAttempts": int(attempts)}
                                               if attempts.isdigit() else {})}
    return {"Condition": "any"}  # always, unless-stopped


def _update(config: UpdateConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (("Parallelism", config.parallelism),
                       ("FailureAction", config.failure_action),
                       ("MaxFailureRatio", config.max_failure_ratio), ("Order", config.order)):
        if value is not None:
            out[key] = value
    for key, seconds in (("Delay", config.delay), ("Monitor", config.monitor)):
        if seconds is not None:
            out[key] = _ns(seconds)
    return out


def _endpoint(service: Service) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if service.deploy is not None and service.deploy.endpoint_mode:
        out["Mode"] = service.deploy.endpoint_mode
    ports = []
    for port in service.ports:
        entry: dict[str, Any] = {"Protocol": port.protocol, "TargetPort": port.target,
                                 "PublishMode": port.mode}
        if port.published:
            entry["PublishedPort"] = int(port.published)
        ports.append(entry)
    if ports:
        out["Ports"] = ports
    return out


def _host_entry(entry: str) -> str:
    """Compose's ``host:ip`` (the model's form) → the swarm's ``ip host``."""
    host, _, address = entry.partition(":")
    return f"{address} {host}" if address else entry


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _ns(seconds: float) -> int:
    return int(round(seconds * NS))
