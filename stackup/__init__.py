"""stackup: a declarative multi-container orchestrator for Compose stack files.

The public Python API. ``load`` returns the same ``Project`` the CLI uses::

    import stackup
    project = stackup.load(["compose.yaml"], environ=os.environ)
"""

from __future__ import annotations

import warnings as _warnings
from collections.abc import Mapping, Sequence

from stackup.core.errors import (
    CycleError,
    EngineError,
    Location,
    PlanError,
    ProjectError,
    SpecError,
    StackupError,
)
from stackup.core.model import Network, Project, Service, Volume

from stackup.core.version import __version__

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
