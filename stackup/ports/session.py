"""Interactive streams: what the Engine's attach, exec and one-off calls hand back.

Pipeline position: beside the Engine protocol (``ports.engine``). ``adapters/docker/streams.py``
implements these over a hijacked engine connection; ``cli/stdio.py`` pumps them between the
terminal and the container. Pure types: no I/O here.
"""

from __future__ import annotations

from typing import Protocol

STDOUT = 1
STDERR = 2
END = 0


class Session(Protocol):
    """A two-way stream to a process in a container (a ``run``/``attach`` container's main
    process, or an ``exec``). ``read`` and ``write`` may be called from different threads."""

    tty: bool

    def read(self) -> tuple[int, bytes]:
        """The next output chunk as (``STDOUT`` | ``STDERR``, data), as soon as it arrives;
        (``END``, b"") once the process closed its output. With a TTY everything is STDOUT."""
        ...

    def write(self, data: bytes) -> None:
        """Send bytes to the process's stdin."""
        ...

    def close_write(self) -> None:
        """End of stdin: the process reads EOF (the output side stays open)."""
        ...

    def resize(self, height: int, width: int) -> None:
        """Set the TTY's size (rows, columns); a no-op without a TTY."""
        ...

    def exit_code(self) -> int:
        """The process's exit code; call after ``read`` returned ``END``. Blocks until known."""
        ...

    def close(self) -> None: ...


class ExitWatch(Protocol):
    """A wait registered with the engine before the container starts, so that no exit (and,
    for an auto-removed container, no removal) can be missed."""

    def result(self) -> int:
        """Block until the container exits (or is removed); its exit code."""
        ...
