"""The container backend: each plan operation as ONE call on an ``Engine`` (Docker or the fake).

Pipeline position: ``execute`` walks a plan and hands each operation to a ``Backend``; this is
the backend of one engine's containers (a swarm has its own). It decides nothing: the operation
carries every value (ids or names, the config and its hash, the anonymous volumes, the container
a ``service:`` network mode joins, the containers a wait watches).
"""

from __future__ import annotations

from typing import TypeVar

from stackup.ports.engine import Engine, OutputSink
from stackup.core.errors import OperationFailed, StackupError
from stackup.core.observed import ObservedContainer
from stackup.core.plan import Kind, Operation, Plan

T = TypeVar("T")

_LOG_TAIL = 10
_GOALS = {Kind.WAIT_HEALTHY: "be healthy", Kind.WAIT_COMPLETED: "complete",
          Kind.WAIT_RUNNING: "be running"}


class ContainerBackend:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def perform(self, plan: Plan, op: Operation, on_output: OutputSink) -> str | None:
        e, name, kind = self.engine, plan.project_name, op.kind
        if kind is Kind.CREATE_NETWORK:
            e.create_network(name, _need(op.network, op))
        elif kind is Kind.CREATE_VOLUME:
            e.create_volume(name, _need(op.volume, op))
        elif kind is Kind.REMOVE_NETWORK:
            e.remove_network(name, op.name or _need(op.network, op).name)
        elif kind is Kind.REMOVE_VOLUME:
            e.remove_volume(name, op.name or _need(op.volume, op).name)
        elif kind is Kind.CREATE_CONTAINER:
            project = _need(plan.project, op)
            e.create_container(project, _need(op.service, op), op.number or 1,
                               name=_need(op.container_name, op),
                               config_hash=_need(op.config_hash, op),
                               config_json=_need(op.config_json, op), image=_need(op.image, op),
                               anonymous_volumes=dict(op.anonymous_volumes),
                               network_mode_container=op.network_mode_container,
                               hidden=op.hidden)
        elif kind is Kind.START_CONTAINER:
            e.start_container(name, _target(op))
        elif kind is Kind.STOP_CONTAINER:
            e.stop_container(name, _target(op), op.timeout)
        elif kind is Kind.RESTART_CONTAINER:
            e.restart_container(name, _target(op), op.timeout)
        elif kind is Kind.RENAME_CONTAINER:
            e.rename_container(name, _target(op), _need(op.new_name, op))
        elif kind is Kind.REMOVE_CONTAINER:
            e.remove_container(name, _target(op), volumes=op.remove_volumes, force=op.force,
                               timeout=op.timeout)
        elif kind is Kind.DISCONNECT_NETWORK:
            e.disconnect_network(name, _target(op), _need(op.name, op))
        elif kind is Kind.CONNECT_NETWORK:
            e.connect_network(_need(plan.project, op), _target(op), _need(op.service, op),
                              _need(op.name, op))
        elif kind is Kind.RUN_HOOK:
            e.run_hook(name, _target(op), _need(op.service, op), _need(op.hook, op),
                       on_output=on_output)
        elif kind is Kind.RUN_PRE_START:
            project = _need(plan.project, op)
            service = _need(op.service, op)
            e.run_pre_start(project, service, _need(op.number, op),
                            op.image or service.image_ref(project.name), replica=_target(op),
                            on_output=on_output)
        elif kind is Kind.BUILD_IMAGE:
            service = _need(op.service, op)
            return e.build_image(service.name, _need(service.build, op), _need(op.image, op),
                                 no_cache=op.no_cache, pull=op.pull, on_output=on_output)
        elif kind is Kind.PULL_IMAGE:
            return e.pull_image(_need(op.image, op), on_output=on_output)
        elif kind is Kind.PUSH_IMAGE:
            e.push_image(_need(op.image, op), on_output=on_output)
        else:
            raise OperationFailed(f"{kind.value} is not an operation of the container backend")
        return None

    # --- waits --------------------------------------------------------------------------------
    def poll(self, plan: Plan, op: Operation) -> bool:
        """True when every watched container reached the goal; raises when one never will."""
        service = op.service_name or op.subject
        views = [self.engine.inspect_container(name) for name in op.watch]
        for c in views:
            stopped = c.state in ("exited", "dead")
            if op.kind is Kind.WAIT_COMPLETED:
                if stopped and c.exit_code not in (0, None):
                    raise self._failure(f"service {service} exited with code {c.exit_code}", c)
                continue
            if stopped:
                raise self._failure(f"service {service} exited with code {c.exit_code} "
                                    f"while waiting for it", c)
            if op.kind is Kind.WAIT_HEALTHY and c.state == "running":
                if c.health is None:
                    raise OperationFailed(
                        f"service {service} has no healthcheck",
                        detail="depends_on condition service_healthy needs one: add a "
                               "healthcheck or use condition service_started.")
                if c.health == "unhealthy":
                    raise self._failure(f"service {service} is unhealthy", c)
        if op.kind is Kind.WAIT_COMPLETED:
            return all(c.state in ("exited", "dead") for c in views)
        if op.kind is Kind.WAIT_HEALTHY:
            return all(c.health == "healthy" for c in views)
        return all(c.running for c in views)

    def timed_out(self, plan: Plan, op: Operation, seconds: float) -> StackupError:
        service = op.service_name or op.subject
        summary = (f"timed out after {seconds:g}s waiting for service {service} to "
                   f"{_GOALS.get(op.kind, 'finish')}")
        try:
            views = [self.engine.inspect_container(name) for name in op.watch]
        except StackupError:
            return OperationFailed(summary)
        pending = [c for c in views if c.health != "healthy"] or views
        return self._failure(summary, pending[0]) if pending else OperationFailed(summary)

    def _failure(self, summary: str, c: ObservedContainer) -> OperationFailed:
        try:
            chunks = list(self.engine.logs(c.container_id, tail=_LOG_TAIL))
        except StackupError:
            chunks = []
        text = b"".join(chunks).decode("utf-8", "replace").rstrip("\n")
        parts = []
        if c.health_log:
            parts.append(f"last healthchecks of {c.name}:\n" + "\n".join(
                f"  {line}" for line in c.health_log))
        if text:
            parts.append(f"last log lines of {c.name}:\n" + "\n".join(
                f"  {line}" for line in text.splitlines()))
        return OperationFailed(summary, detail="\n".join(parts))


def _target(op: Operation) -> str:
    if not op.target:
        raise OperationFailed(f"operation {op.op_id} names no container (a reconcile bug)")
    return op.target


def _need(value: T | None, op: Operation) -> T:
    if value is None:
        raise OperationFailed(f"operation {op.op_id} is incomplete (a reconcile bug)")
    return value
