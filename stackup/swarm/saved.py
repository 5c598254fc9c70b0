"""Saved swarm plans: ``plan --out FILE`` writes one, ``apply FILE`` runs it or nothing.

Pipeline position: ``swarm.reconcile`` → ``Plan`` → **dump** → a file (an artifact between two
pipeline jobs) → **load** → ``moved`` against a plan made again from the files and the swarm as
they are now → ``execute`` (the plan made now, which is then the saved one). Pure.

The document (JSON)::

    {"format": "stackup-swarm-plan", "version": 1, "stackup": "0.x", "project": "demo",
     "created": "…", "options": {…SwarmUpOptions…},
     "fingerprints": {"operations": {"update_service:api": "update_service <spec hash> <deps>"},
                      "observed": {"service:demo_api": "<version> <spec hash> <image id>",
                                   "secret:demo_token-1a2b3c4d": "<id>", "image:web:1": "<id>"}},
     "plan": {…render.plan_json…}, "digest": "sha256:…"}

``apply`` refuses (``PlanFileError``) another format or version, an edited or truncated file,
and (``StalePlan``, exit 3) a plan when anything it was computed from moved: a service's version
(someone updated it), an object, an image, or an operation the files now ask for differently. No
secret value is in the document: specs appear by hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from stackup.core.errors import PlanFileError
from stackup.core.model import FrozenMap
from stackup.core.plan import Plan
from stackup.core.swarm_observed import SwarmObserved
from stackup.swarm.reconcile import SwarmUpOptions

FORMAT = "stackup-swarm-plan"
VERSION = 1


def fingerprints(plan: Plan, observed: SwarmObserved) -> dict[str, dict[str, str]]:
    ops = {op.op_id: " ".join([op.kind.value, op.config_hash or "-", *op.depends_on,
                               *(op.when_image or ())]) for op in plan.operations}
    seen = {f"service:{s.name}": f"{s.version} {s.applied_hash} {s.image_id}"
            for s in observed.services}
    for section in ("networks", "secrets", "configs", "volumes"):
        seen.update({f"{section[:-1]}:{o.name}": o.object_id
                     for o in getattr(observed, section)})
    seen.update({f"image:{ref}": str(image_id) for ref, image_id in observed.images.items()})
    return {"operations": ops, "observed": seen}


def dump(plan: Plan, rendered: Mapping[str, Any], observed: SwarmObserved,
         options: SwarmUpOptions, *, version: str, created: str) -> str:
    """The document; ``rendered`` is the plan's JSON form (``render.plan_json``)."""
    body = {"format": FORMAT, "version": VERSION, "stackup": version,
            "project": plan.project_name, "created": created,
            "options": {"services": list(options.services), "scale": dict(options.scale),
                        "remove_orphans": options.remove_orphans, "build": options.build,
                        "no_cache": options.no_cache},
            "fingerprints": fingerprints(plan, observed), "plan": dict(rendered)}
    body["digest"] = _digest(body)
    return json.dumps(body, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _digest(body: Mapping[str, Any]) -> str:
    text = json.dumps({k: v for k, v in body.items() if k != "digest"}, sort_keys=True,
                      ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def load(text: str, source: str) -> dict[str, Any]:
    """Parse and verify a saved swarm plan (``PlanFileError`` says what is wrong)."""
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise PlanFileError(f"{source} is not a stackup plan: it is not complete JSON ({exc})",
                            detail="Make the plan again: `stackup --target swarm plan --out "
                                   "FILE`.") from exc
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        hint = (" (it is a plan for one engine: drop --target swarm)"
                if isinstance(body, dict) and body.get("format") == "stackup-plan" else "")
        raise PlanFileError(f"{source} is not a swarm plan{hint}")
    if body.get("version") != VERSION:
        raise PlanFileError(f"{source} is a swarm plan of version {body.get('version')!r}; "
                            f"this stackup reads version {VERSION}")
    if body.get("digest") != _digest(body):
        raise PlanFileError(f"{source} was changed after it was made (its digest does not "
                            f"match)", detail="Make the plan again; never edit a saved plan.")
    return body


def options_of(body: Mapping[str, Any]) -> SwarmUpOptions:
    saved = body.get("options") or {}
    return SwarmUpOptions(services=tuple(saved.get("services") or ()),
                          scale=FrozenMap(saved.get("scale") or {}),
                          remove_orphans=bool(saved.get("remove_orphans")),
                          build=bool(saved.get("build")), no_cache=bool(saved.get("no_cache")))


def moved(body: Mapping[str, Any], plan: Plan, observed: SwarmObserved) -> list[str]:
    """What differs between the saved plan and the one made now (empty: apply it)."""
    out: list[str] = []
    if body.get("project") != plan.project_name:
        out.append(f"the plan is for project {body.get('project')}, the files are for "
                   f"{plan.project_name}")
    then = body.get("fingerprints") or {}
    now = fingerprints(plan, observed)
    for what, noun in (("observed", "on the swarm"), ("operations", "in the plan")):
        old, new = then.get(what) or {}, now[what]
        for key in sorted(set(old) | set(new)):
            if key not in new:
                out.append(f"{key} is no longer {noun}")
            elif key not in old:
                out.append(f"{key} is new {noun}")
            elif old[key] != new[key]:
                out.append(f"{key} changed {noun}")
    return out
