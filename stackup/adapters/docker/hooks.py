"""Lifecycle hooks: a service's ``post_start`` and ``pre_stop`` commands, run with exec in its
container, as Compose runs them.

Pipeline position: the executor calls ``run_hooks(engine, project, container, service,
"post_start")`` right after it started a container, and ``"pre_stop"`` right before it stops
one (a stop, a recreate, a removal). A hook that exits non-zero fails that operation with the
service, the hook, its exit code and the tail of its output; ``pre_stop`` of a container that
is not running is skipped (there is nothing to exec into).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from stackup.core.errors import OperationFailed
from stackup.core.model import Hook, Service

if TYPE_CHECKING:  # the containers mixin imports this module
    from stackup.adapters.docker.containers import ContainerMixin

_TAIL_LINES = 10


def run_hook(client: ContainerMixin, project_name: str, container_id: str, service: Service,
             hook: Hook, *, kind: str = "post_start",
             on_output: Callable[[str], None] | None = None) -> int:
    """Run one hook in the container (exec, output streamed line by line to ``on_output``);
    returns its exit code, raising ``OperationFailed`` when it is not 0."""
    name, _ = client._ours(project_name, container_id, kind.replace("_", " "))
    what = f"cannot run the {kind} hook of service {service.name} in {name}"
    env = [f"{k}={v}" for k, v in hook.environment.items()]
    lines: list[str] = []
    with client._call(what):
        exec_id = client.api.exec_create(
            container_id, list(hook.command), stdout=True, stderr=True, tty=service.tty,
            privileged=hook.privileged, user=hook.user or "", environment=env or None,
            workdir=hook.working_dir)["Id"]
        pending = ""
        for chunk in client.api.exec_start(exec_id, stream=True, demux=False):
            pending += chunk.decode("utf-8", "replace")
            *complete, pending = pending.split("\n")
            for line in complete:
                _emit(line, lines, on_output)
        if pending:
            _emit(pending, lines, on_output)
        code = client.api.exec_inspect(exec_id).get("ExitCode")
    exit_code = int(code) if code is not None else -1
    if exit_code != 0:
        tail = "\n".join(lines[-_TAIL_LINES:])
        raise OperationFailed(
            f"the {kind} hook of service {service.name} exited with code {exit_code} in {name}",
            detail=f"command: {list(hook.command)}" + (f"\noutput:\n{tail}" if tail else ""))
    return exit_code


def run_hooks(client: ContainerMixin, project_name: str, container_id: str, service: Service,
              kind: str, *, on_output: Callable[[str], None] | None = None) -> int:
    """Run the service's ``post_start`` or ``pre_stop`` hooks in order; returns how many ran.
    ``pre_stop`` is skipped for a container that is not running."""
    hooks = service.post_start if kind == "post_start" else service.pre_stop
    if not hooks:
        return 0
    if kind == "pre_stop":
        with client._call(f"cannot inspect container {container_id}"):
            state = (client.api.inspect_container(container_id).get("State") or {})
        if not state.get("Running"):
            return 0
    for hook in hooks:
        run_hook(client, project_name, container_id, service, hook, kind=kind,
                 on_output=on_output)
    return len(hooks)


def _emit(line: str, lines: list[str], on_output: Callable[[str], None] | None) -> None:
    line = line.rstrip("\r")
    lines.append(line)
    if on_output is not None:
        on_output(line)
