"""One exception tree for stackup; every error says where and what to do.

    StackupError                     base: ``summary`` line, optional ``detail`` and ``location``
    ├── SpecError                    a stack file is wrong (file:line:col, key path, found/expected)
    │   ├── YamlSyntaxError          the YAML itself does not parse
    │   ├── InterpolationError       ``${VAR:?msg}`` and bad ``${...}`` syntax
    │   └── CycleError               a depends_on cycle, listed in order
    ├── ProjectError                 the project as a whole: missing files, bad project name
    ├── PlanError                    reconcile cannot decide (external resource missing, diverged volume)
    │   ├── PlanFileError            a saved plan file is unreadable, of another version or edited
    │   ├── StalePlan                ``apply FILE``: the files or the engine moved since the plan
    │   └── PreflightFailed          before anything was created: every problem found, located
    ├── InternalError                a bug in stackup: ``cause`` keeps the original exception
    └── EngineError                  the Docker engine refused or failed (names service and reason)
        ├── EngineUnavailable        no engine answers (transient)
        ├── NotFound                 the engine does not have it
        ├── Conflict                 name in use, port already allocated ...
        │   └── LockHeld             another run holds the project's lock (names the holder)
        └── OperationFailed          a plan step failed while executing

The CLI prints ``str(error)`` and exits 1; nothing in stackup prints a traceback for these.
"""

from __future__ import annotations


from dataclasses import dataclass

@dataclass(frozen=True, slots=True)
class Location:
    """Where a value came from: a file, a 1-based line and column, and a key path."""

    file: str
    line: int = 0
    column: int = 0
    path: str = ""

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}:{self.column}" if self.column else f":{self.line}"
        if self.path:
            where += f" ({self.path})"
        return where

    def at(self, path: str) -> Location:
        return Location(self.file, self.line, self.column, path)


class StackupError(Exception):
    """Base of every error stackup reports to a person."""

    transient = False

    def __init__(
        self, summary: str, *, detail: str = "", location: Location | None = None
    ) -> None:
        super().__init__(summary)
        self.summary = summary
        self.detail = detail
        self.location = location

    def __str__(self) -> str:
        lines = [self.summary]
        if self.detail:
            lines.append(self.detail)
        if self.location is not None:
            lines.append(f"  at {self.location}")
        return "\n".join(lines)


class SpecError(StackupError):
    """A stack file is invalid."""


class YamlSyntaxError(SpecError):
    """The YAML of a stack file does not parse."""


class InterpolationError(SpecError):
    """A ``${...}`` expression is malformed or a required variable is missing."""


class CycleError(SpecError):
    """depends_on forms a cycle; ``cycle`` lists the services in order."""

    def __init__(self, cycle: list[str], *, location: Location | None = None) -> None:
        self.cycle = list(cycle)
        text = " -> ".join([*cycle, cycle[0]]) if cycle else "?"
        super().__init__(f"dependency cycle: {text}",
                         detail="Remove one of these depends_on entries.", location=location)


class ProjectError(StackupError):
    """The project cannot be assembled (no stack file, bad project name ...)."""


class PlanError(StackupError):
    """Reconcile cannot produce a safe plan."""


class PlanFileError(PlanError):
    """A saved plan cannot be used: unreadable, unknown version, truncated or edited."""


class StalePlan(PlanError):
    """``apply FILE``: something the plan was computed from has moved; nothing was changed.
    ``moved`` lists what, one line each."""

    def __init__(self, summary: str, moved: tuple[str, ...], *, detail: str = "") -> None:
        super().__init__(summary, detail=detail or "\n".join(f"  - {m}" for m in moved))
        self.moved = moved


class PreflightFailed(PlanError):
    """``up`` (``apply``, ``create``, ``run``) checked what it could before creating anything
    and found problems; nothing was changed. ``problems``: (message, location or None), in the
    order they were written."""

    def __init__(self, problems: tuple[tuple[str, Location | None], ...]) -> None:
        count = len(problems)
        lines = []
        for message, location in problems:
            where = ""
            if location is not None:
                where = f"{location.file}:{location.line}" if location.line else location.file
                where = f"{where}: " if where and where != "<unknown>" else ""
            lines.append(f"  {where}{message}")
        super().__init__(f"{count} problem{'s' if count != 1 else ''} found before starting; "
                         f"nothing was changed", detail="\n".join(lines))
        self.problems = problems


class InternalError(StackupError):
    """A bug in stackup, not a problem of the input or the engine. ``cause`` is the original
    exception; the CLI shows its traceback with ``--debug``."""

    def __init__(self, summary: str, *, cause: BaseException | None = None,
                 detail: str = "") -> None:
        super().__init__(summary, detail=detail or "This is a bug in stackup: run again with "
                                                   "--debug for the traceback and report it.")
        self.cause = cause


class EngineError(StackupError):
    """The Docker engine refused or failed an operation."""


class EngineUnavailable(EngineError):
    transient = True


class NotFound(EngineError):
    pass


class Conflict(EngineError):
    pass


class LockHeld(Conflict):
    """Another stackup run holds the project's lock (``app.locking``), or held it and lost it."""


class OperationFailed(EngineError):
    pass


def endpoints_miscounted(summary: str, network: str) -> EngineError:
    """The engine refuses to remove ``network`` ("has active endpoints") although no container
    uses it: Docker Engine 20.10 lost count of its endpoints, and only a restart of dockerd
    recounts them. ``down`` has removed everything else by then."""
    return EngineError(
        summary,
        detail=f"No container uses network {network}: the Docker engine lost count of its "
               f"endpoints (a known issue of Docker Engine 20.10 when containers on one network "
               f"start and stop at the same time). Restarting dockerd clears it; then `stackup "
               f"down` removes the network. The project's containers (and volumes, with -v) are "
               f"removed; `stackup up` can still use the network as it is.")
