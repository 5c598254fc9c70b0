"""``--dry-run``: the Engine port, implemented so that it reads the real engine and changes nothing.

Pipeline position: the CLI wraps its engine in a ``DryRunEngine`` when ``--dry-run`` is given;
every command then plans as usual and its executor walks the plan. Each port method is sorted
into exactly one of three sets below (a test holds the sets to the ``Engine`` protocol, so a new
method cannot slip through unsorted):

- ``READS`` go to the real engine;
- ``WRITES`` are recorded in ``calls`` and not made; a container "created" here reads back as
  running and healthy, so that waits on it pass, and a build or pull "returns" an id no real
  image has, so that the replacements it would cause show;
- ``INTERACTIVE`` calls (a one-off container, exec, attach) are refused with a clear error, as
  Compose's dry-run client refuses them: they cannot be pretended without making something.

The project lock is an in-memory store: a dry run excludes no one and waits for no one.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from stackup.ports.engine import Engine
from stackup.adapters.memory_lock import FakeLockStore
from stackup.core.errors import NotFound, StackupError
from stackup.core.observed import ObservedContainer

READS = frozenset({
    "observe", "inspect_container", "image_id", "image_details", "logs", "top", "stats",
    "events", "engine_version", "list_projects", "stat_path", "get_archive", "list_containers",
    "list_revisions", "project_events", "wait_container", "export_container",
    "registry_digest", "all_containers", "image_unpullable",
})
WRITES = frozenset({
    "create_network", "remove_network", "create_volume", "remove_volume", "create_container",
    "start_container", "stop_container", "restart_container", "remove_container",
    "rename_container", "disconnect_network", "connect_network", "run_hook", "run_pre_start", "build_image",
    "pull_image", "push_image", "kill_container", "pause_container", "unpause_container",
    "put_archive", "remove_image", "create_revision", "remove_revisions", "lock_store",
    "commit_container",
})
INTERACTIVE = frozenset({
    "create_oneoff", "exec", "exec_session", "exec_detached", "attach_container",
    "resize_container", "watch_exit",
})


class DryRunNotSupported(StackupError):
    """An interactive call under ``--dry-run``: refused before anything is made."""


class DryRunEngine:
    """Reads pass through to ``engine``; writes are recorded in ``calls``; interactive calls
    raise ``DryRunNotSupported``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.calls: list[tuple[str, tuple[Any, ...]]] = []  # what would have been done
        self._made: dict[str, str] = {}  # name → fake id of containers "created" here
        self._ids = itertools.count(1)
        self._locks = FakeLockStore()

    def __getattr__(self, name: str) -> Any:
        if name in READS:
            return getattr(self._engine, name)
        if name in WRITES:  # the writes without a method of their own below
            return self._recorder(name)
        if name in INTERACTIVE:
            return self._refuse(name)
        raise AttributeError(f"DryRunEngine has no {name!r}: sort it into READS, WRITES or "
                             "INTERACTIVE")

    def _recorder(self, name: str) -> Callable[..., None]:
        def record(*args: Any, **kwargs: Any) -> None:
            self.calls.append((name, args))

        return record

    @staticmethod
    def _refuse(name: str) -> Callable[..., Any]:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise DryRunNotSupported(
                "interactive containers are not supported in dry-run mode",
                detail=f"a dry run would have to make a container for this ({name}); "
                       "nothing was changed on the engine")

        return refuse

    def lock_store(self) -> FakeLockStore:
        return self._locks

    def create_container(self, project: Any, service: Any, number: int, *, name: str,
                         **kwargs: Any) -> str:
        self.calls.append(("create_container", (name,)))
        container_id = f"dry-run-{next(self._ids):04d}".ljust(64, "0")
        self._made[name] = container_id
        return container_id

    def build_image(self, service_name: str, build: Any, tag: str, **kwargs: Any) -> str:
        self.calls.append(("build_image", (tag,)))
        return "sha256:dry-run"  # differs from any real id: conditional replacements show

    def pull_image(self, ref: str, **kwargs: Any) -> str:
        self.calls.append(("pull_image", (ref,)))
        return "sha256:dry-run"

    def inspect_container(self, container_id: str) -> ObservedContainer:
        made = self._made.get(container_id) or (
            container_id if container_id in self._made.values() else None)
        if made is not None:
            return ObservedContainer(made, container_id, "", 0, "running", health="healthy")
        try:
            seen = self._engine.inspect_container(container_id)
        except NotFound:
            return ObservedContainer(container_id, container_id, "", 0, "running",
                                     health="healthy")
        # a container this dry run "started" or "renamed" is still as it was: read it as up
        return ObservedContainer(seen.container_id, seen.name, seen.service, seen.number,
                                 "running", health="healthy")
