"""A field-level diff of two ServiceSpecs, in the stack file's words.

Pipeline position: pure helper of ``swarm.reconcile``, which puts the result on an
update_service operation (``changes``) and in its cause. A ServiceSpec is in the engine API's
shape (``TaskTemplate.ContainerSpec.Env`` is a list of ``K=V``); ``view`` turns it back into the
names people wrote (``environment.VERSION``, ``deploy.replicas``, ``ports[0]``), so that the
differences read like the file. Sensitive values (secrets, configs, environment keys with
PASSWORD/SECRET/TOKEN/KEY/...) are never shown: ``stackup.core.redact`` decides and words that.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from stackup.core import labels as L
from stackup.core.plan import Change
from stackup.core.redact import change_text, field_changes
from stackup.core.swarm_objects import IMAGE_ID, NS, STACK_IMAGE, STACK_NAMESPACE, TARGET

_OURS = frozenset({L.PROJECT, L.SERVICE, L.IMAGE, L.CONFIG_HASH, L.CONFIG, L.VERSION, TARGET,
                   STACK_NAMESPACE, STACK_IMAGE, IMAGE_ID})
_CONTAINER = (("Image", "image"), ("Command", "entrypoint"), ("Args", "command"),
              ("User", "user"), ("Dir", "working_dir"), ("Hostname", "hostname"),
              ("StopSignal", "stop_signal"), ("ReadOnly", "read_only"), ("TTY", "tty"),
              ("OpenStdin", "stdin_open"), ("Init", "init"), ("Groups", "group_add"),
              ("Hosts", "extra_hosts"), ("DNSConfig", "dns"), ("Sysctls", "sysctls"),
              ("CapabilityAdd", "cap_add"), ("CapabilityDrop", "cap_drop"),
              ("Ulimits", "ulimits"), ("Healthcheck", "healthcheck"), ("Mounts", "volumes"))
_TASK = (("Resources", "resources"), ("RestartPolicy", "restart_policy"),
         ("Placement", "placement"))
_DURATIONS = frozenset({"Interval", "Timeout", "StartPeriod", "Delay", "Monitor", "Window",
                        "StopGracePeriod"})


def view(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The spec under the stack file's names (what a person compares)."""
    task = spec.get("TaskTemplate") or {}
    container = task.get("ContainerSpec") or {}
    out: dict[str, Any] = {}
    for api, name in _CONTAINER:
        if api in container:
            out[name] = _seconds(container[api])
    if "StopGracePeriod" in container:
        out["stop_grace_period"] = f"{container['StopGracePeriod'] / NS:g}s"
    labels = container.get("Labels") or {}
    if labels.get(IMAGE_ID):
        out["image_id"] = labels[IMAGE_ID]
    own = {k: v for k, v in labels.items() if k not in _OURS}
    if own:
        out["labels"] = own
    env = dict(item.partition("=")[::2] for item in container.get("Env") or ())
    if env:
        out["environment"] = env
    for api, name, target in (("Secrets", "secrets", "SecretName"),
                              ("Configs", "configs", "ConfigName")):
        refs = {ref["File"]["Name"]: ref.get(target) for ref in container.get(api) or ()}
        if refs:
            out[name] = refs
    networks = {n["Target"]: n.get("Aliases") or [] for n in task.get("Networks") or ()}
    if networks:
        out["networks"] = networks
    if task.get("LogDriver"):
        out["logging"] = task["LogDriver"]
    deploy = _deploy(spec, task)
    if deploy:
        out["deploy"] = deploy
    ports = (spec.get("EndpointSpec") or {}).get("Ports")
    if ports:
        out["ports"] = [f"{p.get('PublishedPort', '')}:{p['TargetPort']}/{p['Protocol']} "
                        f"({p.get('PublishMode', 'ingress')})" for p in ports]
    return out


def _deploy(spec: Mapping[str, Any], task: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    mode = spec.get("Mode") or {}
    for api, name in (("Replicated", "replicated"), ("Global", "global"),
                      ("ReplicatedJob", "replicated-job"), ("GlobalJob", "global-job")):
        if api in mode:
            out["mode"] = name
            replicas = mode[api].get("Replicas", mode[api].get("TotalCompletions"))
            if replicas is not None:
                out["replicas"] = replicas
    labels = {k: v for k, v in (spec.get("Labels") or {}).items() if k not in _OURS}
    if labels:
        out["labels"] = labels
    for api, name in _TASK:
        if task.get(api):
            out[name] = _seconds(task[api])
    for api, name in (("UpdateConfig", "update_config"), ("RollbackConfig", "rollback_config")):
        if spec.get(api):
            out[name] = _seconds(spec[api])
    endpoint_mode = (spec.get("EndpointSpec") or {}).get("Mode")
    if endpoint_mode:
        out["endpoint_mode"] = endpoint_mode
    return out


def _seconds(value: Any) -> Any:
    """Nanosecond durations shown as seconds (``5s``)."""
    if isinstance(value, Mapping):
        return {k: f"{v / NS:g}s" if k in _DURATIONS and isinstance(v, int) else _seconds(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_seconds(v) for v in value]
    return value


def spec_changes(old: Mapping[str, Any], new: Mapping[str, Any],
                 env_file_keys: Collection[str] = ()) -> list[Change]:
    """The changed fields between two specs, sorted by path, sensitive values hidden."""
    return field_changes(view(old), view(new), env_file_keys)


def changes_cause(changes: list[Change], *, limit: int = 5) -> str:
    """One line for the plan: one change with its values (sensitive ones hidden), or the paths
    of several (``plan --diff`` shows their values)."""
    if not changes:
        return "service spec changed"
    if len(changes) == 1:
        return change_text(changes[0])
    paths = [c.path for c in changes]
    shown = ", ".join(paths[:limit])
    more = len(paths) - limit
    return shown + (f" and {more} more" if more > 0 else "") + " changed"
