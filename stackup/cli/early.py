"""What the engine can do while the stack file loads: take the project lock, read the lists.

Pipeline position: the CLI, between parsing the command line and loading the stack file. When the
project name is known without reading the stack file (``-p``, or ``COMPOSE_PROJECT_NAME`` in the
environment, which both win over the file's ``name:``), a thread takes the project lock (for a
command that changes the project) and then has the engine read the project's labelled
containers, networks and volumes (``Engine.prime``), while the main thread loads and checks the
stack file. The engine answers on its own core, so its reads and the loading overlap instead of
adding up (docs/benchmarks.md).

Nothing about what is read changes: the lists are read after the lock is held, as before, and are
used once, by the observe that follows. If loading fails, or the command ends before it needs the
lock, the thread is told to stop: a wait for another run's lock ends at once, and a lock it took
is given back, so a bad stack file is reported at once and leaves no lock behind.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stackup.engine.base import Engine
    from stackup.engine.locking import ProjectLock


_ABANDON_WAIT = 10.0  # seconds


class _Stopped(Exception):
    """The main thread no longer wants the lock: the wait for it ends here."""


class EarlyStart:
    """The lock (when ``lock`` is given) and then ``engine.prime(name)``, in a thread."""

    def __init__(self, engine: Engine, name: str, lock: ProjectLock | None) -> None:
        self.name, self.lock = name, lock
        self._engine = engine
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._acquired = False
        if lock is not None:
            lock.sleep = self._sleep  # a wait for another holder ends when told to stop
            # what the thread reads revision records with, imported here: an import in the
            # thread beside one in the main thread, interrupted by Ctrl-C, can leave an import
            # lock held for good (``abandon`` does not wait for the thread forever either)
            import stackup.revisions  # noqa: F401
        self._thread = threading.Thread(target=self._run, name="stackup-early", daemon=True)
        self._thread.start()

    def _sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise _Stopped

    def _run(self) -> None:
        try:
            if self.lock is not None:
                self.lock.acquire()
                self._acquired = True
            if not self._stop.is_set():
                # a command that changes the project records a revision at its end
                self._engine.prime(self.name, revisions=self.lock is not None)
        except _Stopped:
            pass
        except BaseException as error:  # noqa: BLE001 - raised again in the main thread
            self._error = error

    def join(self) -> ProjectLock | None:
        """Wait for the thread; its lock (held), or why it could not be taken, raised here. A
        failed ``prime`` is not an error: the observe that follows reads the lists itself and
        says why it cannot."""
        self._thread.join()
        if self._error is not None and self.lock is not None and not self._acquired:
            error, self._error = self._error, None
            self.lock = None
            raise error
        return self.lock

    def abandon(self) -> None:
        """The command will not use this: stop waiting, and give back a lock taken. The
        thread is waited for at most ``_ABANDON_WAIT`` seconds (its reads end by then; a lock
        it still takes afterwards goes stale with this process)."""
        self._stop.set()
        self._thread.join(_ABANDON_WAIT)
        if self._acquired and self.lock is not None:
            self._acquired = False
            try:
                self.lock.release()
            except Exception:  # noqa: BLE001 - the engine is gone: the lock goes stale by itself
                pass
