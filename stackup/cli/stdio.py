"""Pump a container stream (``ports.session.Session``) to and from this terminal.

Pipeline position: the CLI's side of ``exec``, ``run`` and ``attach``. Output is written as it
arrives, stdout to fd 1 and stderr to fd 2 (never mixed); stdin is sent as it is read, and its
end closes the process's stdin. With a TTY the terminal is put in raw mode (restored on the
way out) and its size follows SIGWINCH.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stackup.ports.session import Session


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _send_stdin(session: Session) -> None:
    try:
        while True:
            try:
                data = os.read(0, 65536)
            except OSError:
                break  # no usable stdin (closed): the process reads EOF
            if not data:
                break
            session.write(data)
    finally:
        session.close_write()


def terminal_size() -> tuple[int, int]:
    size = shutil.get_terminal_size((80, 24))
    return size.lines, size.columns


class _RawTerminal:
    """Raw mode on stdin for a TTY session, and SIGWINCH → resize; undone by ``restore``."""

    def __init__(self, session: Session) -> None:
        self.saved: list[Any] | None = None
        self.previous: Callable[..., object] | int | None = None
        self.session = session
        if not session.tty:
            return
        if sys.stdin.isatty():
            import termios
            import tty

            self.saved = termios.tcgetattr(0)
            tty.setraw(0)
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGWINCH, self._resized)
        self._resized()

    def _resized(self, _signum: int | None = None, _frame: FrameType | None = None) -> None:
        rows, columns = terminal_size()
        # out of the SIGWINCH handler, which must not block: one resize call, ends with it
        threading.Thread(target=self.session.resize, args=(rows, columns), daemon=True).start()

    def restore(self) -> None:
        if self.saved is not None:
            import termios

            termios.tcsetattr(0, termios.TCSADRAIN, self.saved)
            self.saved = None
        if self.previous is not None:
            signal.signal(signal.SIGWINCH, self.previous)
            self.previous = None


def pump(session: Session, *, stdin: bool = True) -> int:
    """Copy stdin to the session and its output to stdout/stderr until the output ends;
    returns the process's exit code."""
    terminal = _RawTerminal(session)
    try:
        if stdin:
            # stdin → the process while its output is read here; ends at stdin's EOF (daemon: a
            # terminal never sends one, and the process's end ends the command)
            threading.Thread(target=_send_stdin, args=(session,), daemon=True).start()
        while True:
            kind, data = session.read()
            if not kind:
                break
            try:
                _write_all(2 if kind == 2 else 1, data)
            except BrokenPipeError:
                pass  # nobody reads our output any more: keep draining until the process ends
    finally:
        terminal.restore()
    code = session.exit_code()
    session.close()
    return code
