"""One-off containers (``stackup run``): the service as ``run`` changes it, and the engine
arguments that differ from a service container's. Pure: no I/O, no ``docker`` import.

Pipeline position: ``stackup.app.oneoff`` builds a ``OneoffOptions`` from the command line; the
Docker adapter (``adapters/docker/attach.py``) calls ``oneoff_service`` and then the usual
``container_create_args`` with ``oneoff=True``, and finishes with ``oneoff_create_args`` and
``oneoff_networks``. As in Compose: no restart policy, the service's ports only with
``--service-ports`` (or those given with ``-p``), the container's own name as its only network
alias unless ``--use-aliases``, and stdin kept open for the attached command.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from stackup.adapters.docker.container_spec import extra_networks
from stackup.ports.oneoff import OneoffOptions as OneoffOptions
from stackup.core.model import FrozenMap, Project, Service


def oneoff_service(service: Service, options: OneoffOptions) -> Service:
    """The service as the one-off container runs it."""
    command = service.command
    if options.command:
        command = options.command
    elif options.entrypoint is not None:
        command = ()  # a new entrypoint drops the service's command, as in Compose
    environment = dict(service.environment)
    environment.update(options.environment)
    ports = options.publish if options.publish else (service.ports if options.service_ports
                                                      else ())
    targets = {m.target for m in options.volumes}
    volumes = tuple(m for m in service.volumes if m.target not in targets) + options.volumes
    cap_add = tuple(c for c in service.cap_add if c not in options.cap_drop)
    cap_add += tuple(c for c in options.cap_add if c not in cap_add)
    cap_drop = tuple(c for c in service.cap_drop if c not in options.cap_add)
    cap_drop += tuple(c for c in options.cap_drop if c not in cap_drop)
    deploy = service.deploy
    if deploy is not None and deploy.restart_policy is not None:
        deploy = dataclasses.replace(deploy, restart_policy=None)
    return dataclasses.replace(
        service, command=command,
        entrypoint=options.entrypoint if options.entrypoint is not None else service.entrypoint,
        environment=FrozenMap(environment), ports=ports, volumes=volumes,
        working_dir=options.workdir or service.working_dir, user=options.user or service.user,
        tty=options.tty, stdin_open=options.interactive, restart=None, deploy=deploy,
        container_name=None, scale=1, cap_add=cap_add, cap_drop=cap_drop,
        labels=FrozenMap({**service.labels, **options.labels}))


def aliases(service: Service, name: str, attachment_aliases: tuple[str, ...],
            options: OneoffOptions) -> list[str]:
    """The container's name; with ``--use-aliases`` also the service name and its aliases."""
    if not options.use_aliases:
        return [name]
    return list(dict.fromkeys([name, service.name, *attachment_aliases]))


def oneoff_create_args(args: Mapping[str, Any], service: Service, name: str,
                       options: OneoffOptions) -> tuple[dict[str, Any], dict[str, Any]]:
    """(``container_create_args`` output adjusted for a one-off, raw keys to set on the
    container config after the SDK built it: the stdin/attach flags it would not set)."""
    out = dict(args)
    host = dict(out.get("host_config") or {})
    if options.remove:
        host["AutoRemove"] = True
    out["host_config"] = host
    networking = out.get("networking_config")
    if networking:
        endpoints = {}
        for net, endpoint in networking["EndpointsConfig"].items():
            own = [a for a in endpoint.get("Aliases", []) if a != service.name]
            endpoints[net] = {**endpoint, "Aliases": aliases(service, name, tuple(own), options)}
        out["networking_config"] = {"EndpointsConfig": endpoints}
    attached = not options.detach
    config = {"Tty": options.tty, "OpenStdin": options.interactive,
              "StdinOnce": options.interactive and attached,
              "AttachStdin": options.interactive and attached,
              "AttachStdout": attached, "AttachStderr": attached}
    return out, config


def oneoff_networks(project: Project, service: Service, name: str,
                    options: OneoffOptions) -> list[tuple[str, dict[str, Any]]]:
    """``extra_networks`` with the one-off's aliases."""
    out = []
    for network, kwargs in extra_networks(project, service):
        own = tuple(a for a in kwargs.get("aliases", []) if a != service.name)
        out.append((network, {**kwargs, "aliases": aliases(service, name, own, options)}))
    return out
