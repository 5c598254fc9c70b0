"""Plan rendering: the canonical text (``stackup plan``, golden tests) and the JSON form.

Pipeline position: ``Plan`` → **render** → the CLI prints it. Pure: no I/O.

Text: one line per operation, in plan order: its number, a mark, a verb, the subject, the cause,
and the numbers of its direct predecessors (``<- #1 #2``); a restore step says ``if #6|#7
failed`` and a conditional one ``if #1 changes the image``::

    #1 + network  demo_default   not found
    #2 + create   demo-db-1      not found                        <- #1
    #3 > start    demo-db-1      not found                        <- #2
    #4 . wait     db healthy     depends_on condition of api      <- #3

The mark says what happens to the thing: ``+`` created, ``~`` renamed or restarted,
``>`` started, ``-`` stopped or removed, ``.`` waited for, ``^`` pushed (images are ``+``
built or pulled). With ``diff=True`` each create that replaces a container is followed by its
changed fields (``    environment.VERSION: "v1" → "v2"``; sensitive values never shown). Notes
follow, prefixed ``! ``, then a summary line. A plan without changes renders as
``No changes: N containers up to date.``

JSON (``plan_json``), version 2, its schema in ``stackup/schemas/plan.json`` (``stackup schema
plan``): every value an operation's engine call needs is there except sensitive ones (the
config is given by its hash; ``apply`` recomputes it from the reloaded files and checks it),
with a ``summary`` of counts per action and each service's action in one word (``services``)
for policy checks, which should not have to infer a replacement from its five steps.
"""

from __future__ import annotations

from typing import Any

from stackup.core.plan import Kind, Operation, Plan
from stackup.core.redact import change_text

_VERBS: dict[Kind, tuple[str, str]] = {
    Kind.CREATE_NETWORK: ("+", "network"),
    Kind.CREATE_VOLUME: ("+", "volume"),
    Kind.PULL_IMAGE: ("+", "pull"),
    Kind.BUILD_IMAGE: ("+", "build"),
    Kind.PUSH_IMAGE: ("^", "push"),
    Kind.CREATE_CONTAINER: ("+", "create"),
    Kind.RENAME_CONTAINER: ("~", "rename"),
    Kind.START_CONTAINER: (">", "start"),
    Kind.STOP_CONTAINER: ("-", "stop"),
    Kind.RESTART_CONTAINER: ("~", "restart"),
    Kind.REMOVE_CONTAINER: ("-", "remove"),
    Kind.RUN_HOOK: ("!", "hook"),
    Kind.RUN_PRE_START: ("!", "hook"),
    Kind.DISCONNECT_NETWORK: ("-", "detach"),
    Kind.CONNECT_NETWORK: ("+", "attach"),
    Kind.GATE: (".", "check"),
    Kind.SLEEP: (".", "delay"),
    Kind.REMOVE_NETWORK: ("-", "network"),
    Kind.REMOVE_VOLUME: ("-", "volume"),
    Kind.WAIT_HEALTHY: (".", "wait"),
    Kind.WAIT_COMPLETED: (".", "wait"),
    Kind.WAIT_RUNNING: (".", "wait"),
    Kind.CREATE_SERVICE: ("+", "service"),
    Kind.UPDATE_SERVICE: ("~", "update"),
    Kind.REMOVE_SERVICE: ("-", "service"),
    Kind.CREATE_SECRET: ("+", "secret"),
    Kind.REMOVE_SECRET: ("-", "secret"),
    Kind.CREATE_CONFIG: ("+", "config"),
    Kind.REMOVE_CONFIG: ("-", "config"),
    Kind.WAIT_SERVICE: (".", "wait"),
    Kind.WAIT_SERVICE_COMPLETED: (".", "wait"),
}

_WAIT_STATE = {Kind.WAIT_HEALTHY: "healthy", Kind.WAIT_COMPLETED: "completed",
               Kind.WAIT_RUNNING: "running", Kind.WAIT_SERVICE: "converged",
               Kind.WAIT_SERVICE_COMPLETED: "completed"}

_RESOURCE = {Kind.CREATE_NETWORK: "network", Kind.REMOVE_NETWORK: "network",
             Kind.CREATE_VOLUME: "volume", Kind.REMOVE_VOLUME: "volume",
             Kind.PULL_IMAGE: "image", Kind.BUILD_IMAGE: "image", Kind.PUSH_IMAGE: "image",
             Kind.WAIT_HEALTHY: "service", Kind.WAIT_COMPLETED: "service",
             Kind.WAIT_RUNNING: "service", Kind.CREATE_SERVICE: "service",
             Kind.UPDATE_SERVICE: "service", Kind.REMOVE_SERVICE: "service",
             Kind.WAIT_SERVICE: "service", Kind.WAIT_SERVICE_COMPLETED: "service",
             Kind.CREATE_SECRET: "secret", Kind.REMOVE_SECRET: "secret",
             Kind.CREATE_CONFIG: "config", Kind.REMOVE_CONFIG: "config"}


def subject(op: Operation) -> str:
    """What the line names: a container, network, volume, image, or ``db healthy``."""
    if op.kind in _WAIT_STATE:
        if op.number is not None and len(op.watch) == 1:  # one replica (a rolling update)
            return f"{op.watch[0]} {_WAIT_STATE[op.kind]}"
        return f"{op.service_name or op.subject} {_WAIT_STATE[op.kind]}"
    if op.kind is Kind.RENAME_CONTAINER and op.new_name:
        return f"{op.subject} → {op.new_name}"
    if op.kind is Kind.RUN_HOOK:
        return f"{op.subject} {op.hook}"
    if op.kind is Kind.RUN_PRE_START:
        return f"{op.service_name} pre_start {op.number}"
    if op.kind in (Kind.DISCONNECT_NETWORK, Kind.CONNECT_NETWORK):
        return f"{op.container_name or op.target} {op.name}"
    if op.kind is Kind.GATE:
        return f"{op.service_name} rollout" if op.service is not None else op.subject
    if op.kind is Kind.SLEEP:
        return f"{op.timeout:g}s"
    return op.subject


def plan_text(plan: Plan, *, diff: bool = False) -> str:
    """The canonical, deterministic text of a plan (ends with a newline)."""
    lines: list[str] = []
    if plan.empty:
        count = len(plan.up_to_date)
        lines.append(f"No changes: {count} container{'' if count == 1 else 's'} up to date.")
    else:
        number = {op.op_id: i for i, op in enumerate(plan.operations, 1)}
        rows = [(f"#{number[op.op_id]}", *_VERBS[op.kind], subject(op), op.cause,
                 _edges(op, number)) for op in plan.operations]
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        for op, (num, mark, verb, name, cause, edges) in zip(plan.operations, rows):
            lines.append(f"{num:<{widths[0]}} {mark} {verb:<{widths[2]}} {name:<{widths[3]}}  "
                         f"{cause:<{widths[4]}}  {edges}".rstrip())
            if diff:
                lines.extend(f"      {change_text(c)}" for c in op.changes)
        lines.append(_summary(plan))
    lines.extend(f"! {note}" for note in plan.notes)
    return "\n".join(lines) + "\n"


def _edges(op: Operation, number: dict[str, int]) -> str:
    parts = []
    if op.depends_on:
        parts.append("<- " + " ".join(f"#{number[d]}" for d in op.depends_on))
    if op.after:
        parts.append("after " + " ".join(f"#{number[d]}" for d in op.after))
    if op.if_failed:
        parts.append("if " + "|".join(f"#{number[d]}" for d in op.if_failed) + " failed")
    if op.when_image is not None:
        parts.append(f"if #{number[op.when_image[0]]} changes the image")
    return "  ".join(parts)


def _summary(plan: Plan) -> str:
    """``Plan: 2 to create, 1 to replace, 1 to remove.``: containers by what happens to them
    (a replacement's stop, rename and create count once), then networks, volumes and images."""
    ops = [op for op in plan.operations if not op.if_failed and op.kind not in _WAIT_STATE
           and op.kind not in (Kind.GATE, Kind.SLEEP)]
    replaced = [op for op in ops if op.op_id.endswith(":replaced")]
    removed_ids = {op.container_id for op in ops if op.kind is Kind.REMOVE_CONTAINER}
    counts: dict[str, int] = {}

    def add(word: str, n: int = 1) -> None:
        if n:
            counts[word] = counts.get(word, 0) + n

    add("create", sum(op.kind is Kind.CREATE_CONTAINER for op in ops) - len(replaced))
    add("replace", sum(op.when_image is None for op in replaced))
    add("replace if the image changes", sum(op.when_image is not None for op in replaced))
    for op in ops:
        if op.kind in (Kind.STOP_CONTAINER, Kind.RENAME_CONTAINER) and op.container_id in removed_ids:
            continue
        if op.kind is Kind.RENAME_CONTAINER and op.container_id is None:
            continue  # a new container taking its name: part of a replacement
        if op.kind is Kind.START_CONTAINER and op.container_id is None:
            continue  # the start of a container created here
        if op.kind is Kind.REMOVE_CONTAINER and op in replaced:
            continue
        word = _SUMMARY.get(op.kind)
        if word is not None:
            add(word)
    shown = ", ".join(f"{n} to {w}" for w, n in counts.items())
    return f"Plan: {shown}." if shown else "Plan: only waits."


_SUMMARY = {Kind.REMOVE_CONTAINER: "remove", Kind.START_CONTAINER: "start",
            Kind.STOP_CONTAINER: "stop", Kind.RESTART_CONTAINER: "restart",
            Kind.RENAME_CONTAINER: "rename", Kind.CREATE_NETWORK: "create network",
            Kind.CREATE_VOLUME: "create volume", Kind.REMOVE_NETWORK: "remove network",
            Kind.REMOVE_VOLUME: "remove volume", Kind.BUILD_IMAGE: "build",
            Kind.PULL_IMAGE: "pull", Kind.PUSH_IMAGE: "push",
            Kind.CREATE_SERVICE: "create service", Kind.UPDATE_SERVICE: "update service",
            Kind.REMOVE_SERVICE: "remove service", Kind.CREATE_SECRET: "create secret",
            Kind.REMOVE_SECRET: "remove secret", Kind.CREATE_CONFIG: "create config",
            Kind.REMOVE_CONFIG: "remove config"}


def operation_json(op: Operation) -> dict[str, Any]:
    """One operation as the documented JSON object (no sensitive value: configs by hash)."""
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
        "if_failed": list(op.if_failed),
        "when_image": ({"op": op.when_image[0], "unless": op.when_image[1]}
                       if op.when_image else None),
        "container_id": op.container_id,
        "container_name": op.container_name,
        "new_name": op.new_name,
        "image": op.image,
        "config_hash": op.config_hash,
        "anonymous_volumes": [list(pair) for pair in op.anonymous_volumes],
        "network_mode_container": op.network_mode_container,
        "hidden": op.hidden,
        "watch": list(op.watch),
        "network": op.network.key if op.network is not None else None,
        "volume": op.volume.key if op.volume is not None else None,
        "engine_name": op.name,
        "timeout": op.timeout,
        "remove_volumes": op.remove_volumes,
        "force": op.force,
        "no_cache": op.no_cache,
        "pull": op.pull,
        "hook": op.hook,
        "after": list(op.after),
        "settle": op.settle,
        "judge": list(op.judge),
        "max_failures": op.max_failures,
        "changes": [{"path": c.path, "old": c.old, "new": c.new, "sensitive": c.sensitive}
                    for c in op.changes],
    }


def plan_json(plan: Plan) -> dict[str, Any]:
    """The documented, stable JSON form of a plan (schema: ``stackup/schemas/plan.json``)."""
    return {
        "version": 2,
        "project": plan.project_name,
        "changes": not plan.empty,
        "summary": plan_summary(plan),
        "services": service_actions(plan),
        "operations": [operation_json(op) for op in plan.operations],
        "notes": list(plan.notes),
        "up_to_date": list(plan.up_to_date),
    }


# --- the summary and each service's action, for policy checks --------------------------------

SERVICE_ACTIONS = ("create", "recreate", "scale", "remove", "update", "start", "restart", "stop",
                   "none")
"""A service's action in one word, most telling first: the first that applies wins."""


def _acting(plan: Plan) -> list[Operation]:
    """The operations that would change something (no restore steps, waits, gates, sleeps)."""
    return [op for op in plan.operations if not op.if_failed and op.kind not in _WAIT_STATE
            and op.kind not in (Kind.GATE, Kind.SLEEP)]


def _replaced(op: Operation) -> bool:
    """The removal that ends a replacement (stop → rename → create → start → remove, or a
    rolling update's new-beside-old): one per recreated replica."""
    return op.kind is Kind.REMOVE_CONTAINER and op.op_id.endswith(":replaced")


def _above_scale(op: Operation) -> bool:
    return op.kind is Kind.REMOVE_CONTAINER and " above scale " in op.cause


def plan_summary(plan: Plan) -> dict[str, Any]:
    """Counts for policy checks. Containers (services on a swarm): ``create`` new ones that
    replace nothing; ``recreate`` replaced ones (a replacement's stop, rename, create, start and
    removal count once), ``recreate_if_image_changes`` those replaced only if a build or pull
    changes the image; ``remove``, ``start``, ``stop``, ``restart`` existing ones (a stop before
    a removal or a replacement is part of it); ``update`` swarm services updated in place.
    ``scale``: services whose number of replicas changes. ``pull``, ``build``, ``push``: images.
    ``networks`` and ``volumes``: created and removed."""
    ops = _acting(plan)
    replaced = [op for op in ops if _replaced(op)]
    replaced_keys = {(op.service_name, op.number) for op in replaced}
    removed_ids = {op.container_id for op in ops if op.kind is Kind.REMOVE_CONTAINER}

    def count(*kinds: Kind) -> int:
        return sum(op.kind in kinds for op in ops)

    return {
        "create": sum(op.kind is Kind.CREATE_CONTAINER
                      and (op.service_name, op.number) not in replaced_keys for op in ops)
        + count(Kind.CREATE_SERVICE),
        "recreate": sum(op.when_image is None for op in replaced),
        "recreate_if_image_changes": sum(op.when_image is not None for op in replaced),
        "remove": sum(op.kind is Kind.REMOVE_CONTAINER and not _replaced(op) for op in ops)
        + count(Kind.REMOVE_SERVICE),
        "scale": sum(action == "scale" for action in
                     (s["action"] for s in service_actions(plan).values())),
        "start": sum(op.kind is Kind.START_CONTAINER and op.container_id is not None
                     and op.when_image is None for op in ops),
        "stop": sum(op.kind is Kind.STOP_CONTAINER and op.container_id not in removed_ids
                    for op in ops),
        "restart": count(Kind.RESTART_CONTAINER),
        "update": count(Kind.UPDATE_SERVICE),
        "pull": count(Kind.PULL_IMAGE),
        "build": count(Kind.BUILD_IMAGE),
        "push": count(Kind.PUSH_IMAGE),
        "networks": {"create": count(Kind.CREATE_NETWORK),
                     "remove": count(Kind.REMOVE_NETWORK)},
        "volumes": {"create": count(Kind.CREATE_VOLUME), "remove": count(Kind.REMOVE_VOLUME)},
    }


def service_actions(plan: Plan) -> dict[str, dict[str, Any]]:
    """Each service an operation names → its action in one word (``SERVICE_ACTIONS``) and the
    ids of its operations, in plan order."""
    ids: dict[str, list[str]] = {}
    for op in plan.operations:
        if op.service_name is not None:
            ids.setdefault(op.service_name, []).append(op.op_id)
    acting: dict[str, list[Operation]] = {}
    for op in _acting(plan):
        if op.service_name is not None:
            acting.setdefault(op.service_name, []).append(op)
    return {name: {"action": _action(acting.get(name, [])), "operations": ids[name]}
            for name in sorted(ids)}


def _action(ops: list[Operation]) -> str:
    kinds = {op.kind for op in ops}
    if any(_replaced(op) for op in ops):
        return "recreate"
    creates = [op for op in ops if op.kind is Kind.CREATE_CONTAINER]
    removes = [op for op in ops if op.kind is Kind.REMOVE_CONTAINER]
    if any(_above_scale(op) for op in removes) or (creates and min(
            op.number or 1 for op in creates) > 1):
        return "scale"  # replicas above the scale go, or new ones join those there
    if creates or Kind.CREATE_SERVICE in kinds:
        return "create"
    if removes or Kind.REMOVE_SERVICE in kinds:
        return "remove"
    for kind, word in ((Kind.UPDATE_SERVICE, "update"), (Kind.START_CONTAINER, "start"),
                       (Kind.RESTART_CONTAINER, "restart"), (Kind.STOP_CONTAINER, "stop")):
        if kind in kinds:
            return word
    return "none"
