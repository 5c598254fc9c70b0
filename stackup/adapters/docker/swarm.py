"""SwarmBackend: each operation of a swarm plan as one call on a swarm manager.

Pipeline position: ``execute`` walks a plan made by ``swarm.reconcile`` and hands each operation
to this backend (the ``ports.engine.Backend`` protocol); it decides nothing. Services are created
and updated with the spec the operation carries (``config_json``), after resolving secret and
config names to ids and labelling the task template with the image's current id; the engine
rolls updates out itself. Waits poll the service's ``UpdateStatus`` and its tasks: a paused or
rolled-back update fails with the tasks' errors.

Ownership: every object it changes or removes is looked up first and must carry this project's
labels with ``io.stackup.target=swarm`` (``swarm.objects.owned``); an unlabelled one is never
touched. Images are built and pushed through the engine's own image code.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import TYPE_CHECKING, Any

from stackup.core import labels as L
from stackup.ports.engine import OutputSink
from stackup.adapters.docker.swarm_observe import SwarmReader
from stackup.core.errors import EngineError, NotFound, OperationFailed, StackupError
from stackup.core.plan import Kind, Operation, Plan
from stackup.core.swarm_objects import IMAGE_ID, owned, salted_digest, version_label

if TYPE_CHECKING:
    from stackup.adapters.docker.engine import DockerEngine

_BUSY_RETRY = 30.0  # seconds to retry removing a network/volume a finishing task still holds
_POLL_EVERY = 0.5  # seconds between two real looks at a service
_FAILED = frozenset({"failed", "rejected"})
_ENDED = frozenset({*_FAILED, "complete", "shutdown", "orphaned", "remove"})
_GOALS = {Kind.WAIT_SERVICE: "converge", Kind.WAIT_SERVICE_COMPLETED: "complete"}


class SwarmBackend(SwarmReader):
    """The ``Backend`` of a swarm, over one manager's API (a ``DockerEngine``'s client)."""

    def __init__(self, engine: DockerEngine) -> None:
        super().__init__(engine)
        self._last_look: dict[str, float] = {}
        self._reasons: dict[str, str] = {}  # op id → why the engine started a rollback
        # service name → the UpdateStatus.StartedAt it had before this run updated it: an
        # UpdateStatus that did not start since is an earlier run's, and says nothing now
        self._updated: dict[str, str | None] = {}

    # --- perform ------------------------------------------------------------------------------
    def perform(self, plan: Plan, op: Operation, on_output: OutputSink) -> str | None:
        kind, project = op.kind, plan.project_name
        spec = json.loads(op.config_json) if op.config_json else {}
        if kind is Kind.CREATE_NETWORK:
            with self.engine._call(f"cannot create network {spec.get('name')}"):
                self.api.create_network(**spec)
        elif kind is Kind.CREATE_VOLUME:
            with self.engine._call(f"cannot create volume {spec.get('name')}"):
                self.api.create_volume(**spec)
        elif kind in (Kind.CREATE_SECRET, Kind.CREATE_CONFIG):
            self._create_object(plan, spec)
        elif kind in (Kind.CREATE_SERVICE, Kind.UPDATE_SERVICE):
            self._apply_service(project, op, spec)
        elif kind is Kind.REMOVE_SERVICE:
            self._remove_service(project, _need(op.name, op))
        elif kind in (Kind.REMOVE_SECRET, Kind.REMOVE_CONFIG):
            self._remove_object(project, "secrets" if kind is Kind.REMOVE_SECRET else "configs",
                                _need(op.name, op))
        elif kind in (Kind.REMOVE_NETWORK, Kind.REMOVE_VOLUME):
            self._remove_resource(project, "network" if kind is Kind.REMOVE_NETWORK
                                  else "volume", _need(op.name, op))
        elif kind is Kind.BUILD_IMAGE:
            service = _need(op.service, op)
            return self.engine.build_image(service.name, _need(service.build, op),
                                           _need(op.image, op), no_cache=op.no_cache,
                                           pull=op.pull, on_output=on_output)
        elif kind is Kind.PUSH_IMAGE:
            self.engine.push_image(_need(op.image, op), on_output=on_output)
        else:
            raise OperationFailed(f"{kind.value} is not an operation of the Swarm backend")
        return None

    def _create_object(self, plan: Plan, spec: dict[str, Any]) -> None:
        kind, key, name = spec["Kind"], spec["Key"], spec["Name"]
        if plan.project is None:
            raise OperationFailed(f"cannot create {kind} {name}: the plan has no stack file")
        obj = (plan.project.secrets if kind == "secret" else plan.project.configs).get(key)
        if obj is None:
            raise OperationFailed(f"cannot create {kind} {name}: {key} is not in the stack file")
        if obj.file is not None:
            try:
                with open(obj.file, "rb") as handle:
                    data = handle.read()
            except OSError as exc:
                raise OperationFailed(f"cannot read {kind} {key} from {obj.file}: "
                                      f"{exc.strerror}") from exc
        else:
            data = (obj.content or "").encode("utf-8")
        if salted_digest(obj.name, hashlib.sha256(data).hexdigest()) != spec["Digest"]:
            raise OperationFailed(f"the content of {kind} {key} changed since the plan was made",
                                  detail="Plan again.")
        create = self.api.create_secret if kind == "secret" else self.api.create_config
        with self.engine._call(f"cannot create {kind} {name}"):
            create(name, data, labels=spec["Labels"])

    def _apply_service(self, project: str, op: Operation, spec: dict[str, Any]) -> None:
        name = spec["Name"]
        spec["Labels"].update({L.CONFIG_HASH: _need(op.config_hash, op),
                               L.CONFIG: _need(op.config_json, op), **version_label()})
        container = spec["TaskTemplate"]["ContainerSpec"]
        image_id = self.engine.image_id(container["Image"])
        if image_id:
            container.setdefault("Labels", {})[IMAGE_ID] = image_id
        for section, field in (("secrets", "Secret"), ("configs", "Config")):
            for ref in container.get(field + "s") or ():
                found = self.find(section, ref[f"{field}Name"])
                if found is None:
                    raise OperationFailed(f"cannot deploy service {name}: {field.lower()} "
                                          f"{ref[f'{field}Name']} not found")
                ref[f"{field}ID"] = found["ID"]
        args = dict(task_template=spec["TaskTemplate"], name=name, labels=spec["Labels"],
                    mode=spec["Mode"], update_config=spec.get("UpdateConfig"),
                    rollback_config=spec.get("RollbackConfig"),
                    endpoint_spec=spec.get("EndpointSpec"))
        if op.kind is Kind.CREATE_SERVICE:
            with self.engine._call(f"cannot create service {name}"):
                self.api.create_service(**args)
            return
        current = self._owned_service(project, name)
        self._updated[name] = (current.get("UpdateStatus") or {}).get("StartedAt")
        with self.engine._call(f"cannot update service {name}"):
            self.api.update_service(current["ID"], int(current["Version"]["Index"]), **args)

    def _owned_service(self, project: str, name: str) -> dict[str, Any]:
        with self.engine._call(f"cannot inspect service {name}"):
            current = self.api.inspect_service(name)
        if not owned(current["Spec"].get("Labels"), project):
            raise EngineError(f"service {name} is not this project's",
                              detail="stackup never changes or removes what it did not create.")
        return current

    def _remove_service(self, project: str, name: str) -> None:
        try:
            current = self._owned_service(project, name)
        except NotFound:
            return
        with self.engine._call(f"cannot remove service {name}"):
            self.api.remove_service(current["ID"])
        # Its tasks' containers on this node stop shortly after; then networks and volumes are
        # free. The engine leaves the exited containers of a job behind (and, for a while,
        # those of other tasks): they belonged to this service, which was ours, and go too.
        deadline = time.monotonic() + _BUSY_RETRY
        label = f"com.docker.swarm.service.id={current['ID']}"
        while time.monotonic() < deadline:
            with self.engine._call(f"cannot list the containers of service {name}"):
                left = self.api.containers(all=True, filters={"label": label})
            for container in left:
                if container.get("State") in ("exited", "created", "dead"):
                    try:
                        with self.engine._call(f"cannot remove a task container of {name}"):
                            self.api.remove_container(container["Id"], v=False)
                    except (NotFound, EngineError):
                        pass  # the engine removed it at the same time, or will
            if not left:
                return
            time.sleep(0.2)

    def _remove_object(self, project: str, section: str, name: str) -> None:
        found = self.find(section, name)
        if found is None:
            return
        if not owned(found["Spec"].get("Labels"), project):
            raise EngineError(f"{section[:-1]} {name} is not this project's",
                              detail="stackup never removes what it did not create.")
        remove = self.api.remove_secret if section == "secrets" else self.api.remove_config
        with self.engine._call(f"cannot remove {section[:-1]} {name}"):
            remove(found["ID"])

    def _remove_resource(self, project: str, kind: str, name: str) -> None:
        inspect = self.api.inspect_network if kind == "network" else self.api.inspect_volume
        try:
            with self.engine._call(f"cannot inspect {kind} {name}"):
                found = inspect(name)
        except NotFound:
            return
        if not owned(found.get("Labels"), project):
            raise EngineError(f"{kind} {name} is not this project's",
                              detail="stackup never removes what it did not create.")
        remove = self.api.remove_network if kind == "network" else self.api.remove_volume
        target = found.get("Id") or name
        deadline = time.monotonic() + _BUSY_RETRY
        while True:
            try:
                with self.engine._call(f"cannot remove {kind} {name}"):
                    remove(target)
                return
            except NotFound:
                return
            except EngineError as error:
                busy = any(w in error.summary for w in ("in use", "active endpoints"))
                if not busy or time.monotonic() >= deadline:
                    raise
            time.sleep(0.5)

    # --- waits --------------------------------------------------------------------------------
    def poll(self, plan: Plan, op: Operation) -> bool:
        """True when the service's rollout finished and its tasks run (or, for a job,
        completed); raises when the engine paused or rolled the update back."""
        now = time.monotonic()
        if now - self._last_look.get(op.op_id, 0.0) < _POLL_EVERY:
            return False
        self._last_look[op.op_id] = now
        name = _need(op.name, op)
        try:
            with self.engine._call(f"cannot inspect service {name}"):
                current = self.api.inspect_service(name)
        except NotFound as error:
            raise OperationFailed(f"service {name} disappeared while waiting for it") from error
        status = current.get("UpdateStatus") or {}
        state, message = status.get("State"), status.get("Message") or ""
        if name not in self._updated or status.get("StartedAt") == self._updated[name]:
            state = None  # no rollout of this run (yet): the tasks say whether it converged
        if state == "rollback_started":  # says which task failed; gone once rolled back
            self._reasons[op.op_id] = message
        if state in ("paused", "rollback_paused", "rollback_completed"):
            what = "was rolled back" if state == "rollback_completed" else "paused"
            reason = self._reasons.get(op.op_id) if state != "paused" else message
            summary = f"the update of service {name} {what}"
            focus = reason.rsplit(" ", 1)[-1] if reason and "task" in reason else None
            raise OperationFailed(f"{summary}: {reason}" if reason else summary,
                                  detail=self._task_errors(current, focus=focus or
                                                           self._newest_of_update(current)))
        if state in ("updating", "rollback_started"):
            return False
        tasks = self._current_tasks(current)
        spec = current["Spec"]
        if op.kind is Kind.WAIT_SERVICE_COMPLETED:
            return self._completed(name, current, tasks)
        desired = self._desired(current)
        running = [t for t in tasks if t["Status"]["State"] == "running"
                   and t["DesiredState"] == "running"]
        failed = [t for t in tasks if t["Status"]["State"] in _FAILED]
        if len(failed) >= 3 and not running:
            raise OperationFailed(f"the tasks of service {name} keep failing",
                                  detail=self._task_errors(current))
        if "Global" not in spec.get("Mode", {}):
            return len(running) >= desired
        return desired > 0 and len(running) >= desired

    def _completed(self, name: str, current: dict[str, Any], tasks: list[dict[str, Any]]
                   ) -> bool:
        done = [t for t in tasks if t["Status"]["State"] == "complete"]
        active = [t for t in tasks if t["Status"]["State"] not in ("complete", *_FAILED,
                                                                   "shutdown")]
        failed = [t for t in tasks if t["Status"]["State"] in _FAILED]
        desired = self._desired(current)
        if len(done) >= max(desired, 1):
            return True
        if failed and not active:
            raise OperationFailed(f"service {name} did not complete successfully",
                                  detail=self._task_errors(current))
        return False

    def _desired(self, current: dict[str, Any]) -> int:
        mode = current["Spec"].get("Mode") or {}
        if "Replicated" in mode:
            return int(mode["Replicated"].get("Replicas", 1))
        if "ReplicatedJob" in mode:
            return int(mode["ReplicatedJob"].get("TotalCompletions", 1))
        with self.engine._call("cannot read service status"):
            listed = self.api.services(filters={"id": current["ID"]}, status=True)
        status = (listed[0].get("ServiceStatus") if listed else None) or {}
        return int(status.get("DesiredTasks") or 0)

    def _current_tasks(self, current: dict[str, Any]) -> list[dict[str, Any]]:
        """The tasks that run the service's current task template (or job iteration)."""
        with self.engine._call(f"cannot list the tasks of service {current['Spec']['Name']}"):
            tasks = self.api.tasks(filters={"service": current["ID"]})
        template = _comparable(current["Spec"].get("TaskTemplate") or {})
        iteration = ((current.get("JobStatus") or {}).get("JobIteration") or {}).get("Index")
        out = []
        for task in tasks:
            if iteration is not None:
                if (task.get("JobIteration") or {}).get("Index") == iteration:
                    out.append(task)
            elif _comparable(task.get("Spec") or {}) == template:
                out.append(task)
        return out

    def _newest_of_update(self, current: dict[str, Any]) -> str | None:
        """The newest task that ended and ran the template of the update that failed: once
        rolled back, one that differs from the service's template (the engine keeps no
        ``PreviousSpec`` then); when paused, one that matches it. The one to blame."""
        rolled = ((current.get("UpdateStatus") or {}).get("State") or "").startswith("rollback")
        template = _comparable(current["Spec"].get("TaskTemplate") or {})
        try:
            with self.engine._call("cannot list tasks"):
                tasks = self.api.tasks(filters={"service": current["ID"]})
        except StackupError:
            return None
        mine = sorted((t for t in tasks if t["Status"]["State"] != "running"
                       and (_comparable(t.get("Spec") or {}) != template) == rolled),
                      key=lambda t: t.get("UpdatedAt") or "")
        return mine[-1]["ID"] if mine else None

    def _task_errors(self, current: dict[str, Any], limit: int = 4,
                     focus: str | None = None) -> str:
        """The service's latest tasks that are not running, newest first (``focus``, the task
        the engine blamed, first): state, the engine's error, a failing healthcheck's output;
        then the service's last log lines."""
        name = current["Spec"]["Name"]
        try:
            with self.engine._call(f"cannot list the tasks of service {name}"):
                tasks = self.api.tasks(filters={"service": current["ID"]})
        except StackupError:
            return ""
        tasks.sort(key=lambda t: t.get("UpdatedAt") or "", reverse=True)
        tasks.sort(key=lambda t: t["ID"] != focus)  # stable: focus first, then newest
        ended = [t for t in tasks if t["Status"]["State"] in _ENDED][:limit]
        lines = []
        for task in ended:
            status = task["Status"]
            where = task.get("Slot") or task.get("NodeID", "")[:12]
            blamed = " (the failed task)" if task["ID"] == focus else ""
            lines.append(f"  {name}.{where} task {task['ID'][:12]}{blamed} {status['State']}: "
                         f"{status.get('Err') or status.get('Message') or ''}".rstrip(": "))
            health = self._health(status.get("ContainerStatus", {}).get("ContainerID"))
            if health:
                lines.append(f"    {health}")
        parts = [f"recent tasks of {name}:\n" + "\n".join(lines)] if lines else []
        try:
            logs = [line.decode("utf-8", "replace")
                    for _, line in self.logs(current["ID"], tail=10)]
        except StackupError:
            logs = []
        if logs:
            parts.append(f"last log lines of {name}:\n" + "\n".join(f"  {x}" for x in logs))
        return "\n".join(parts)

    def _health(self, container_id: str | None) -> str:
        """``unhealthy: <last check output>`` for a task container on this node, else ''."""
        if not container_id:
            return ""
        try:
            with self.engine._call("cannot inspect a task container"):
                info = self.api.inspect_container(container_id)
        except StackupError:
            return ""  # on another node, or already removed
        health = (info.get("State") or {}).get("Health") or {}
        if health.get("Status") != "unhealthy":
            return ""
        failed = [e for e in health.get("Log") or () if e.get("ExitCode") != 0]
        failed.sort(key=lambda e: e.get("ExitCode") != 137)  # a check killed by the stop last
        if not failed:
            return "unhealthy"
        last = failed[-1]
        output = (last.get("Output") or "").strip().replace("\n", " ")[:200]
        return f"unhealthy: healthcheck exit {last.get('ExitCode')}" + (
            f": {output}" if output else "")

    def timed_out(self, plan: Plan, op: Operation, seconds: float) -> StackupError:
        name = op.name or op.subject
        summary = (f"timed out after {seconds:g}s waiting for service {name} to "
                   f"{_GOALS.get(op.kind, 'finish')}")
        try:
            with self.engine._call(f"cannot inspect service {name}"):
                current = self.api.inspect_service(name)
        except StackupError:
            return OperationFailed(summary)
        return OperationFailed(summary, detail=self._task_errors(current))


def _comparable(spec: dict[str, Any]) -> dict[str, Any]:
    """A task template without the fields the engine fills in on one side only."""
    return {k: v for k, v in spec.items() if k not in ("Runtime", "ForceUpdate")} | {
        "ForceUpdate": spec.get("ForceUpdate") or 0}


def _need(value: Any, op: Operation) -> Any:
    if value is None:
        raise OperationFailed(f"operation {op.op_id} is incomplete (a reconcile bug)")
    return value


__all__ = ["SwarmBackend"]
