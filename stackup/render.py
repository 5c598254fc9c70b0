"""Plan rendering: the canonical text (``stackup plan``, golden tests) and a stable JSON form.

Pipeline position: ``Plan`` → **render** → the CLI prints it. Pure: no I/O.

Text: one line per operation, in plan order, columns aligned::

    + network  demo_default   not found
    . wait     db healthy     depends_on condition of api
    ~ recreate demo-api-1     environment.VERSION changed

The mark says what happens to the thing: ``+`` created, ``~`` replaced or restarted,
``>`` started, ``-`` stopped or removed, ``.`` waited for, ``^`` pushed (images are ``+``
built or pulled). Notes follow, prefixed ``! ``.
A plan without changes renders as ``No changes: N containers up to date.``

JSON (``plan_json``), version 1::

    {
      "version": 1,
      "project": "demo",                       # project name
      "changes": true,                         # false when executing would change nothing
      "operations": [                          # plan order: every op after its depends_on
        {
          "id": "create_container:web:1",     # unique, stable across runs
          "action": "create_container",        # plan.Kind value
          "resource": "container",             # container | network | volume | image | service
          "service": "web",                    # or null
          "number": 1,                         # replica number, or null
          "name": "demo-web-1",                # engine name of the subject (service for waits)
          "cause": "not found",                # why, for people
          "depends_on": ["create_network:default"],
          "start_after": ["wait_healthy:db"]    # create_container: started only after these
        }
      ],
      "notes": ["..."],                        # warnings for people
      "up_to_date": ["demo-db-1"]              # containers left as they are
    }
"""

from __future__ import annotations

from typing import Any

from stackup.plan import Kind, Operation, Plan

_VERBS: dict[Kind, tuple[str, str]] = {
    Kind.CREATE_NETWORK: ("+", "network"),
    Kind.CREATE_VOLUME: ("+", "volume"),
    Kind.PULL_IMAGE: ("+", "pull"),
    Kind.BUILD_IMAGE: ("+", "build"),
    Kind.PUSH_IMAGE: ("^", "push"),
    Kind.CREATE_CONTAINER: ("+", "create"),
    Kind.RECREATE_CONTAINER: ("~", "recreate"),
    Kind.START_CONTAINER: (">", "start"),
    Kind.STOP_CONTAINER: ("-", "stop"),
    Kind.RESTART_CONTAINER: ("~", "restart"),
    Kind.REMOVE_CONTAINER: ("-", "remove"),
    Kind.REMOVE_NETWORK: ("-", "network"),
    Kind.REMOVE_VOLUME: ("-", "volume"),
    Kind.WAIT_HEALTHY: (".", "wait"),
    Kind.WAIT_COMPLETED: (".", "wait"),
    Kind.WAIT_RUNNING: (".", "wait"),
}

_WAIT_STATE = {Kind.WAIT_HEALTHY: "healthy", Kind.WAIT_COMPLETED: "completed",
               Kind.WAIT_RUNNING: "running"}

_RESOURCE = {Kind.CREATE_NETWORK: "network", Kind.REMOVE_NETWORK: "network",
             Kind.CREATE_VOLUME: "volume", Kind.REMOVE_VOLUME: "volume",
             Kind.PULL_IMAGE: "image", Kind.BUILD_IMAGE: "image", Kind.PUSH_IMAGE: "image",
             Kind.WAIT_HEALTHY: "service", Kind.WAIT_COMPLETED: "service",
             Kind.WAIT_RUNNING: "service"}


def subject(op: Operation) -> str:
    """What the line names: a container, network, volume, image, or ``db healthy``."""
    if op.kind in _WAIT_STATE:
        return f"{op.service_name or op.subject} {_WAIT_STATE[op.kind]}"
    return op.subject


def plan_text(plan: Plan) -> str:
    """The canonical, deterministic text of a plan (ends with a newline)."""
    lines: list[str] = []
    if plan.empty:
        count = len(plan.up_to_date)
        lines.append(f"No changes: {count} container{'' if count == 1 else 's'} up to date.")
    else:
        rows = [(*_VERBS[op.kind], subject(op), op.cause) for op in plan.operations]
        width = max(len(r[2]) for r in rows)
        for mark, verb, name, cause in rows:
            lines.append(f"{mark} {verb:<8} {name:<{width}}  {cause}".rstrip())
    lines.extend(f"! {note}" for note in plan.notes)
    return "\n".join(lines) + "\n"


def operation_json(op: Operation) -> dict[str, Any]:
    """One operation as the documented JSON object."""
    is_wait = op.kind in _WAIT_STATE
    return {
        "id": op.op_id,
        "action": op.kind.value,
        "resource": _RESOURCE.get(op.kind, "container"),
        "service": op.service_name,
        "number": op.number,
        "name": op.service_name if is_wait else op.subject,
        "cause": op.cause,
        "depends_on": list(op.depends_on),
        "start_after": list(op.start_after),
    }


def plan_json(plan: Plan) -> dict[str, Any]:
    """The documented, stable JSON form of a plan (see the module docstring)."""
    return {
        "version": 1,
        "project": plan.project_name,
        "changes": not plan.empty,
        "operations": [operation_json(op) for op in plan.operations],
        "notes": list(plan.notes),
        "up_to_date": list(plan.up_to_date),
    }
