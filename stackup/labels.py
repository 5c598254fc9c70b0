"""Ownership labels: what stackup puts on everything it creates, and how it finds them again.

Pipeline position: shared by the engine adapter (writes and filters on them) and the pure
observed-state model (reads them). Nothing without ``PROJECT`` = the project's name is ever
stopped or removed by stackup.
"""

from __future__ import annotations

PREFIX = "io.stackup"
PROJECT = f"{PREFIX}.project"  # project name, on containers, networks and volumes
SERVICE = f"{PREFIX}.service"  # service name, on containers
NUMBER = f"{PREFIX}.number"  # replica number (1-based), on containers
CONFIG_HASH = f"{PREFIX}.config-hash"  # hashing.config_hash of the service / resource
CONFIG = f"{PREFIX}.config"  # canonical JSON the hash was computed from (for readable causes)
IMAGE = f"{PREFIX}.image"  # image reference the container was created from
NETWORK = f"{PREFIX}.network"  # network key in the stack file, on networks
VOLUME = f"{PREFIX}.volume"  # volume key in the stack file, on volumes
CARRIED_VOLUMES = f"{PREFIX}.carried-volumes"  # anonymous volumes taken over on recreate
ONEOFF = f"{PREFIX}.oneoff"  # "True" on `run` containers
VERSION = f"{PREFIX}.version"  # stackup version that created it


def project_filter(project_name: str) -> str:
    """The engine label filter selecting one project's resources."""
    return f"{PROJECT}={project_name}"
