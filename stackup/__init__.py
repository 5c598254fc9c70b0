"""stackup: a declarative multi-container orchestrator for Compose stack files.

The public Python API. ``load`` returns the same ``Project`` the CLI uses::

    import stackup
    project = stackup.load(["compose.yaml"], environ=os.environ)
"""

from __future__ import annotations

import importlib
import warnings as _warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from stackup.core.version import __version__

if TYPE_CHECKING:
    from stackup.core.errors import CycleError as CycleError
    from stackup.core.errors import EngineError as EngineError
    from stackup.core.errors import Location as Location
    from stackup.core.errors import PlanError as PlanError
    from stackup.core.errors import ProjectError as ProjectError
    from stackup.core.errors import SpecError as SpecError
    from stackup.core.errors import StackupError as StackupError
    from stackup.core.model import Network as Network
    from stackup.core.model import Project as Project
    from stackup.core.model import Service as Service
    from stackup.core.model import Volume as Volume

# The public names, imported on first use: importing a part of stackup (the ``stackup`` command
# starts with ``stackup.cli.entry``) does not load the model first.
_EXPORTS = {name: "stackup.core.errors" for name in (
    "CycleError", "EngineError", "Location", "PlanError", "ProjectError", "SpecError",
    "StackupError")} | {name: "stackup.core.model" for name in (
        "Network", "Project", "Service", "Volume")}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'stackup' has no attribute {name!r}")


__all__ = [
    "CycleError",
    "EngineError",
    "Location",
    "Network",
    "PlanError",
    "Project",
    "ProjectError",
    "Service",
    "SpecError",
    "StackupError",
    "StackupWarning",
    "Volume",
    "__version__",
    "load",
]


class StackupWarning(UserWarning):
    """A stack file issue that does not stop loading (unset variable, unsupported key)."""


def load(files: Sequence[str] = (), *, project_name: str | None = None,
         project_directory: str | None = None, env_files: Sequence[str] = (),
         profiles: Sequence[str] = (), services: Sequence[str] = (),
         environ: Mapping[str, str] | None = None, cwd: str = ".") -> Project:
    """Load stack files into a Project exactly as the CLI does.

    ``environ`` is the interpolation environment (pass ``os.environ`` explicitly to use the
    process's; the default is empty so that loading stays pure). Warnings are issued as
    ``StackupWarning``.
    """
    from stackup.loader.loader import LoadOptions, load_project

    loaded = load_project(LoadOptions(
        files=tuple(files), project_name=project_name, project_directory=project_directory,
        env_files=tuple(env_files), profiles=tuple(profiles), services=tuple(services),
        environ=dict(environ or {}), cwd=cwd))
    for message in loaded.warnings:
        _warnings.warn(message, StackupWarning, stacklevel=2)
    return loaded.project
