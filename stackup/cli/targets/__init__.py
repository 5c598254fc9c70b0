"""The deploy target as a seam: what ``up``, ``plan``, ``apply``, ``down``, ``ps``, ``logs`` and
``config`` do depends on what runs the stack, never on an ``if`` in the command.

A command parses its flags and calls ``g.deploy_target().up(g, **flags)``. ``--target engine``
(the default: containers on one engine, ``targets.engine``) and ``--target swarm`` (services on a
Docker Swarm, ``targets.swarm``) are modules with the same functions, checked against
:class:`Target` by mypy; each calls its use cases in ``stackup.app``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from stackup.cli.context import Globals

TARGETS = {"engine": "stackup.cli.targets.engine", "swarm": "stackup.cli.targets.swarm"}


class Target(Protocol):
    """The commands whose meaning depends on the deploy target. Each takes the command's own
    flags as keywords (the click parameters), prints and sets the exit code."""

    def check_command(self, g: Globals, command: str | None) -> None:
        """Refuse, before anything runs, a command or global option this target lacks."""

    def up(self, g: Globals, **flags: Any) -> None: ...

    def plan(self, g: Globals, **flags: Any) -> None: ...

    def apply(self, g: Globals, **flags: Any) -> None: ...

    def down(self, g: Globals, **flags: Any) -> None: ...

    def ps(self, g: Globals, **flags: Any) -> None: ...

    def logs(self, g: Globals, **flags: Any) -> None: ...

    def check_config(self, g: Globals, services: tuple[str, ...]) -> None:
        """``config``: refuse what the target cannot run (the model is printed as usual)."""


def target_of(name: str) -> Target:
    """The target module for ``--target NAME`` (click has checked the name)."""
    return cast(Target, importlib.import_module(TARGETS[name]))
