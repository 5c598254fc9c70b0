"""Ownership labels: what stackup puts on everything it creates, and how it finds them again.

Pipeline position: shared by the engine adapter (writes and filters on them) and the pure
observed-state model (reads them). Nothing without ``PROJECT`` = the project's name is ever
stopped or removed by stackup.
"""

from __future__ import annotations

from collections.abc import Mapping

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
ANONYMOUS_VOLUME = f"{PREFIX}.anonymous-volume"  # "<service>:<path>", on anonymous volumes
ENGINE_ANONYMOUS = "com.docker.volume.anonymous"  # the engine's own mark (Engine 23+ sets it)
ONEOFF = f"{PREFIX}.oneoff"  # "True" on `run` containers
TARGET = f"{PREFIX}.target"  # "swarm" on what the Swarm backend creates (one engine: unset)
VERSION = f"{PREFIX}.version"  # stackup version that created it
# the last pull of an image by stackup, kept on the engine for pull_policy daily/weekly/every_*:
# one small volume per image reference (``pull_record_name``), recreated at each pull
PULLED_REF = f"{PREFIX}.pulled.ref"  # the image reference
PULLED_AT = f"{PREFIX}.pulled.at"  # seconds since the epoch (UTC) of the pull


# Docker Compose's own labels. stackup writes them too, so that `docker compose ps/logs/down`
# work on a stackup project, and reads them to take over a project that Compose created.
COMPOSE_PREFIX = "com.docker.compose"
COMPOSE_PROJECT = f"{COMPOSE_PREFIX}.project"
COMPOSE_SERVICE = f"{COMPOSE_PREFIX}.service"
COMPOSE_NUMBER = f"{COMPOSE_PREFIX}.container-number"
COMPOSE_ONEOFF = f"{COMPOSE_PREFIX}.oneoff"
COMPOSE_CONFIG_HASH = f"{COMPOSE_PREFIX}.config-hash"
COMPOSE_NETWORK = f"{COMPOSE_PREFIX}.network"
COMPOSE_VOLUME = f"{COMPOSE_PREFIX}.volume"
COMPOSE_VERSION = f"{COMPOSE_PREFIX}.version"
COMPOSE_WORKING_DIR = f"{COMPOSE_PREFIX}.project.working_dir"
COMPOSE_CONFIG_FILES = f"{COMPOSE_PREFIX}.project.config_files"
COMPOSE_DEPENDS_ON = f"{COMPOSE_PREFIX}.depends_on"
COMPOSE_IMAGE = f"{COMPOSE_PREFIX}.image"
# The Compose version stackup claims on what it creates: the oldest Compose v2 that reads every
# label above (Compose compares it only to decide on upgrades of its own labels).
COMPOSE_LABELS_VERSION = "2.26.1"


def owner(labels: Mapping[str, str]) -> tuple[str | None, bool]:
    """(project name, made by Docker Compose): stackup's label first, else Compose's."""
    project = labels.get(PROJECT)
    if project is not None:
        return project, False
    project = labels.get(COMPOSE_PROJECT)
    return project, project is not None


def project_filter(project_name: str) -> str:
    """The engine label filter selecting one project's resources."""
    return f"{PROJECT}={project_name}"


def compose_filter(project_name: str) -> str:
    """The engine label filter selecting what Docker Compose (or stackup) made for a project."""
    return f"{COMPOSE_PROJECT}={project_name}"


def pull_record_name(ref: str) -> str:
    """The volume that records when stackup last pulled ``ref`` on an engine."""
    from hashlib import sha256

    return f"stackup-pulled-{sha256(ref.encode('utf-8')).hexdigest()[:32]}"
