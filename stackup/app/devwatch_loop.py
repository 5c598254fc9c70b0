"""The ``stackup watch`` loop: follow the ``develop.watch`` paths, one batch of changes at a time.

Pipeline position: the use case's event loop, between ``cli.commands.watch`` (which prints and acts
through ``app.devwatch_sync``) and ``watchfiles`` (the file watcher). One anyio event loop:
``watchfiles.awatch`` gathers changes until none came for ``QUIET_MS`` (Compose waits for a
quiet period too), ``app.devwatch.decide`` turns them into actions, and the blocking ``handle``
runs in a worker thread. SIGINT or SIGTERM ends the loop once the batch in progress is done.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

import anyio
import watchfiles

from stackup.app.devwatch import DELETED, Actions, decide, watched_paths
from stackup.core.model import Project

QUIET_MS = 300  # a batch ends when no change came for this long
MAX_BATCH_MS = 3000  # ... or when it has been gathering this long
READY_MS = 500  # the watcher answers (empty) this often when nothing changes

_KINDS = {watchfiles.Change.added: "added", watchfiles.Change.modified: "modified",
          watchfiles.Change.deleted: DELETED}


def _dockerignore(project: Project,
                  services: tuple[str, ...]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Service → (its local build context, its ``.dockerignore`` patterns), for rebuild rules."""
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for name, service in project.services.items():
        build = service.build
        if build is None or (services and name not in services) or \
                "://" in (build.context or ""):
            continue
        try:
            with open(os.path.join(build.context, ".dockerignore"), encoding="utf-8") as handle:
                patterns = tuple(line.strip() for line in handle if line.strip()
                                 and not line.lstrip().startswith("#"))
        except OSError:
            continue
        out[name] = (build.context, patterns)
    return out


def _roots(paths: list[str]) -> list[str]:
    """What to give the file watcher: each existing folder, a file's folder (editors replace
    files, which ends a watch on the file itself), without folders inside another."""
    roots = set()
    for path in paths:
        folder = path if os.path.isdir(path) else os.path.dirname(path)
        while folder and not os.path.isdir(folder):
            folder = os.path.dirname(folder)
        roots.add(folder)
    return sorted(r for r in roots
                  if not any(r != o and r.startswith(o.rstrip(os.sep) + os.sep) for o in roots))


def follow(project: Project, services: tuple[str, ...], handle: Callable[[Actions], None],
           ready: Callable[[list[str]], None]) -> str | None:
    """Watch until a signal; returns its name (None if the watcher ended by itself).
    ``ready`` gets the watched paths once watching; ``handle`` each batch's actions."""
    paths = watched_paths(project, services)
    ignore = _dockerignore(project, services)
    stopped_by: list[str] = []

    async def main() -> None:
        stop = anyio.Event()

        async def signals() -> None:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
                async for signum in received:
                    stopped_by.append(signal.Signals(signum).name)
                    stop.set()
                    return

        async with anyio.create_task_group() as group:
            group.start_soon(signals)
            said = False
            async for changes in watchfiles.awatch(
                    *_roots(paths), stop_event=stop, debounce=MAX_BATCH_MS, step=QUIET_MS,
                    watch_filter=watchfiles.DefaultFilter(), recursive=True,
                    rust_timeout=READY_MS, yield_on_timeout=True):
                if not said:  # the first answer: the watcher is in place
                    said = True
                    ready(paths)
                batch = sorted((_KINDS[kind], path) for kind, path in changes)
                actions = decide(project, batch, services=services, dockerignore=ignore)
                if not actions.empty:
                    await anyio.to_thread.run_sync(handle, actions)
            group.cancel_scope.cancel()

    anyio.run(main)
    return stopped_by[0] if stopped_by else None
