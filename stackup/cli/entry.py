"""The ``stackup`` program's entry point: the CLI (``cli.main``), imported here so that a
Ctrl-C while it loads ends the command like any other Ctrl-C (``interrupted``, exit 130), not
as a traceback.

This module imports nothing of stackup at its top: the window in which Ctrl-C still gets
Python's default treatment is the interpreter's own start.
"""

from __future__ import annotations

import sys


def caused_by_interrupt(error: BaseException) -> bool:
    """Whether Ctrl-C is what ``error`` is or wraps: Python turns a ``KeyboardInterrupt`` that
    lands while a class is being built (a dataclass field's ``__set_name__`` during an import)
    into a ``RuntimeError`` raised from it; that is an interrupt, not a bug."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, KeyboardInterrupt):
            return True
        pending += [current.__cause__, current.__context__]
        if isinstance(current, BaseExceptionGroup):
            pending += list(current.exceptions)
    return False


def run() -> None:
    """Load the CLI and run it (``cli.main.run``)."""
    try:
        from stackup.cli.main import run as run_cli
    except BaseException as error:  # noqa: BLE001 - only an interrupt is handled here
        if not caused_by_interrupt(error):
            raise
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    run_cli()
