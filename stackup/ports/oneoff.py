"""What ``stackup run`` asks of an engine beyond a service container: the changes it makes to the
service (command, ports, volumes, ...) and how the container runs (tty, stdin, --rm).

Pipeline position: ``app.oneoff`` builds it from the command line; ``Engine.create_oneoff``
takes it; ``adapters.docker.oneoff_spec`` turns it into engine arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stackup.core.model import FrozenMap, Mount, Port, _empty


@dataclass(frozen=True, slots=True)
class OneoffOptions:
    """What ``stackup run`` changes on the service (None: keep the service's own)."""

    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    environment: FrozenMap[str, str] = field(default_factory=_empty)  # added / overridden
    labels: FrozenMap[str, str] = field(default_factory=_empty)
    publish: tuple[Port, ...] = ()  # -p: replaces the service's ports
    service_ports: bool = False  # --service-ports: keep the service's ports
    volumes: tuple[Mount, ...] = ()  # -v: added (a same target replaces the service's)
    workdir: str | None = None
    user: str | None = None
    tty: bool = False
    interactive: bool = True  # stdin open (and attached unless detached)
    detach: bool = False
    remove: bool = False  # --rm: the engine removes the container when it exits
    use_aliases: bool = False
    cap_add: tuple[str, ...] = ()  # --cap-add: added (and taken out of the service's cap_drop)
    cap_drop: tuple[str, ...] = ()  # --cap-drop: added (and taken out of its cap_add)
