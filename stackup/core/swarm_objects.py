"""Swarm object names, ownership labels, and the specs of networks, volumes, secrets, configs.

Pipeline position: pure helper of ``swarm.spec`` and ``swarm.reconcile`` (which put these specs
in plan operations) and of the Swarm backend (which reads labels back and checks digests). No
I/O: a secret's bytes are known here only by the sha256 the loader recorded (``FileObject.digest``)
or by its inline content.

Everything stackup creates on a swarm carries ``io.stackup.project``, ``io.stackup.target=swarm``
(so that the one-engine backend and the Swarm backend never take each other's objects) and
``com.docker.stack.namespace`` (so that ``docker stack services/ps <project>`` show the stack).

Secrets and configs are immutable on a swarm: each is created as ``<name>-<digest8>``, where
``name`` is the file's engine name (``<project>_<key>`` unless ``name:``) and ``digest8`` the first
8 hex digits of a digest of the content salted with that name (a short secret cannot be checked
against the object's name with a precomputed table). Changed content gives a new object; the
service moves to it and the old one is removed afterwards.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from stackup.core.version import __version__
from stackup.core import labels as L
from stackup.core.apibody import network_options
from stackup.core.model import FileObject, Network, Project, Volume

TARGET = f"{L.PREFIX}.target"  # "swarm" on every object the Swarm backend creates
SWARM = "swarm"
SECRET = f"{L.PREFIX}.secret"  # secret key in the stack file, on secrets
CONFIG_KEY = f"{L.PREFIX}.config-key"  # config key in the stack file, on configs
CONTENT_DIGEST = f"{L.PREFIX}.content-digest"  # full salted digest, on secrets and configs
IMAGE_ID = f"{L.PREFIX}.image-id"  # on the task template: a rebuilt image rolls the tasks
STACK_NAMESPACE = "com.docker.stack.namespace"
STACK_IMAGE = "com.docker.stack.image"

# Labels added when an object is created and never compared (a new stackup version must not
# update every service).
META_LABELS = frozenset({L.CONFIG_HASH, L.CONFIG, L.VERSION})

NS = 1_000_000_000  # nanoseconds in a second: the API's durations


def owner_labels(project_name: str) -> dict[str, str]:
    """The labels that say "this project's, made by the Swarm backend"."""
    return {L.PROJECT: project_name, TARGET: SWARM, STACK_NAMESPACE: project_name}


def owned(labels: Mapping[str, str] | None, project_name: str) -> bool:
    """True for objects this project's Swarm backend created (and may change or remove)."""
    found = labels or {}
    return found.get(L.PROJECT) == project_name and found.get(TARGET) == SWARM


def service_name(project_name: str, service: str) -> str:
    """The swarm service name, as ``docker stack deploy`` names it: ``<project>_<service>``."""
    return f"{project_name}_{service}"


def canonical_json(value: Any) -> str:
    """The one text form of a spec: sorted keys, no whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def spec_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- secrets and configs --------------------------------------------------------------------


def content_sha256(obj: FileObject) -> str | None:
    """sha256 hex of the object's bytes: the loader's digest of a ``file:``, else of the inline
    content (or the environment variable's value). None when the file could not be read."""
    if obj.file is not None:
        return getattr(obj, "digest", None)
    return hashlib.sha256((obj.content or "").encode("utf-8")).hexdigest()


def salted_digest(name: str, sha256_hex: str) -> str:
    """The digest an object's content is known by: salted with its engine name."""
    return hashlib.sha256(f"stackup:swarm:{name}:".encode() + bytes.fromhex(sha256_hex)
                          ).hexdigest()


def object_name(obj: FileObject, sha256_hex: str) -> str:
    """``<name>-<digest8>``: a new name for every new content."""
    return f"{obj.name}-{salted_digest(obj.name, sha256_hex)[:8]}"


def file_object_spec(kind: str, project_name: str, obj: FileObject, sha256_hex: str
                     ) -> dict[str, Any]:
    """What creating a secret or config needs, without its bytes (the backend reads those from
    the model and checks them against ``Digest``): name, labels, key and digest."""
    labels = dict(obj.labels)
    labels.update(owner_labels(project_name))
    digest = salted_digest(obj.name, sha256_hex)
    labels[SECRET if kind == "secret" else CONFIG_KEY] = obj.key
    labels[CONTENT_DIGEST] = digest
    return {"Name": object_name(obj, sha256_hex), "Labels": labels, "Kind": kind,
            "Key": obj.key, "Digest": digest}


# --- networks and volumes -------------------------------------------------------------------


def network_spec(project_name: str, network: Network) -> dict[str, Any]:
    """Keyword arguments for ``APIClient.create_network``: an attachable overlay network."""
    labels = dict(network.labels)
    labels.update(owner_labels(project_name))
    labels[L.NETWORK] = network.key
    args: dict[str, Any] = {"name": network.name, "driver": network.driver or "overlay",
                            "labels": labels, "attachable": True, "scope": "swarm"}
    args.update(network_options(network))
    return args


def volume_labels(project_name: str, volume: Volume) -> dict[str, str]:
    labels = dict(volume.labels)
    labels.update(owner_labels(project_name))
    labels[L.VOLUME] = volume.key
    return labels


def volume_spec(project_name: str, volume: Volume) -> dict[str, Any]:
    """Keyword arguments for ``APIClient.create_volume`` (on the manager; other nodes create
    theirs from the mount's ``VolumeOptions``, with the same labels)."""
    args: dict[str, Any] = {"name": volume.name, "driver": volume.driver or "local",
                            "labels": volume_labels(project_name, volume)}
    if volume.driver_opts:
        args["driver_opts"] = dict(volume.driver_opts)
    return args


def version_label() -> dict[str, str]:
    return {L.VERSION: __version__}


def project_objects(project: Project) -> dict[str, dict[str, FileObject]]:
    return {"secret": dict(project.secrets), "config": dict(project.configs)}
