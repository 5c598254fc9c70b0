"""``pre_start`` hooks: one hook of a service run in a container of its own, as Compose runs it.

Pipeline position: the container backend calls ``Engine.run_pre_start`` for each
``run_pre_start`` operation of a plan (reconcile puts them before the service's first start when
none of its replicas runs). The hook container is a one-off container of the service (its
image, or the hook's, its networks, no published ports) with the volumes of the replica about
to start (``VolumesFrom``, as Compose: named, anonymous and bind mounts alike) named
``<project>-<service>-pre_start-<n>``, labelled as the project's (so ``down`` removes it) and
with ``PRE_START``; the hook's command, user, working directory, environment (added to the
service's) and ``privileged`` apply; a hook ``image`` the engine lacks is pulled first, as
Compose does. It is started, its output streamed as it comes, and waited for: exit 0 removes
it; another exit code fails the operation with the service, the hook, the code and the output's
last lines, and the container is kept for inspection. A container left by an earlier failed
run is removed first.
"""

from __future__ import annotations

import dataclasses

from stackup.core import labels as L
from stackup.core.errors import NotFound, OperationFailed
from stackup.core.model import FrozenMap, Project, Service
from stackup.ports.engine import Engine, OutputSink
from stackup.ports.oneoff import OneoffOptions

PRE_START = f"{L.PREFIX}.pre_start"  # the hook's number, on a pre_start hook container
_TAIL_LINES = 10


def run_pre_start(engine: Engine, project: Project, service: Service, number: int, image: str,
                  *, replica: str, on_output: OutputSink | None = None) -> None:
    """Run pre_start hook ``number`` (from 1) of ``service`` to its end (see the docstring)."""
    hook = service.pre_start[number - 1]
    try:
        engine.inspect_container(replica)
    except NotFound as exc:
        raise NotFound(f"cannot run pre_start hook {number} of service {service.name}: its "
                       f"replica {replica} (whose volumes it shares) does not exist") from exc
    name = service.pre_start_container_name(project.name, number)
    stale = range(1, len(service.pre_start) + 1) if number == 1 else (number,)
    for n in stale:
        engine.remove_container(project.name, service.pre_start_container_name(project.name, n),
                                volumes=True, force=True)
    runs = dataclasses.replace(service, privileged=service.privileged or hook.privileged,
                               healthcheck=None, pre_start=(), post_start=(), pre_stop=(),
                               volumes=(), volumes_from=(f"container:{replica}",))
    options = OneoffOptions(command=hook.command, environment=hook.environment,
                            labels=FrozenMap({PRE_START: str(number)}),
                            workdir=hook.working_dir, user=hook.user, interactive=False,
                            detach=True)
    if hook.image and engine.image_id(hook.image) is None:  # as Compose pulls it
        if on_output is not None:
            on_output(f"pulling {hook.image}, the image of pre_start hook {number}")
        engine.pull_image(hook.image, on_output=on_output)
    container_id = engine.create_oneoff(project, runs, name=name, image=hook.image or image,
                                        options=options)
    watch = engine.watch_exit(container_id)
    engine.start_container(project.name, container_id)
    lines: list[str] = []
    pending = ""
    for chunk in engine.logs(container_id, follow=True):  # ends when the hook exits
        pending += chunk.decode("utf-8", "replace")
        *complete, pending = pending.split("\n")
        for line in complete:
            _emit(line, lines, on_output)
    if pending:
        _emit(pending, lines, on_output)
    code = watch.result()
    if code != 0:
        tail = "\n".join(f"  {line}" for line in lines[-_TAIL_LINES:])
        raise OperationFailed(
            f"pre_start hook {number} of service {service.name} exited with code {code}",
            detail=f"command: {list(hook.command)}\n"
                   + (f"last output lines:\n{tail}\n" if tail else "")
                   + f"The hook container {name} is kept for inspection (`docker logs {name}`);"
                     f" `stackup down` removes it.")
    engine.remove_container(project.name, container_id, volumes=True, force=True)


def _emit(line: str, lines: list[str], on_output: OutputSink | None) -> None:
    line = line.rstrip("\r")
    lines.append(line)
    if on_output is not None:
        on_output(line)
