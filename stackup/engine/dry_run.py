"""``--dry-run``: an engine that reads the real one and changes nothing.

Pipeline position: the CLI wraps its engine in a ``DryRunEngine`` when ``--dry-run`` is given;
every command then plans as usual and its executor walks the plan, but each call that would
change the engine (create, start, stop, remove, rename, build, pull, push, kill, hooks, archive
writes, revision records, the project lock) is recorded and not made. Reads (observe, inspect,
logs, image ids) go to the real engine; a container "created" in the dry run reads as running
and healthy, so that waits on it pass. The progress shows what would happen, in plan order, as
Compose's ``--dry-run`` does.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from stackup.engine.base import Engine
from stackup.engine.fake_lock import FakeLockStore
from stackup.errors import NotFound
from stackup.observed import ObservedContainer

_WRITES = frozenset({
    "create_network", "remove_network", "create_volume", "remove_volume", "start_container",
    "stop_container", "restart_container", "remove_container", "rename_container",
    "disconnect_network", "connect_network", "run_hook", "push_image", "kill_container",
    "pause_container", "unpause_container", "put_archive", "remove_image", "create_revision",
    "remove_revisions",
})


class DryRunEngine:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.calls: list[tuple[str, tuple[Any, ...]]] = []  # what would have been done
        self._made: dict[str, str] = {}  # name → fake id of containers "created" here
        self._ids = itertools.count(1)
        self._locks = FakeLockStore()

    def __getattr__(self, name: str) -> Any:
        if name in _WRITES:
            return self._recorder(name)
        return getattr(self._engine, name)

    def _recorder(self, name: str) -> Callable[..., None]:
        def record(*args: Any, **kwargs: Any) -> None:
            self.calls.append((name, args))

        return record

    def lock_store(self) -> FakeLockStore:
        return self._locks  # a dry run excludes no one and waits for no one

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
