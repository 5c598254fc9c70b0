"""Saved plans: ``stackup plan --out FILE`` writes one, ``stackup apply FILE`` checks and runs it.

Pipeline position: ``Plan`` → **dump** → a file (an artifact between two pipeline jobs) →
**load** → ``moved`` (against the files and the engine as they are now) → ``to_plan`` →
``execute``. Pure: the caller reads files, observes the engine and digests build contexts.

The document (JSON, ``"format": "stackup-plan"``, ``"version": 1``)::

    {"format": "stackup-plan", "version": 1, "stackup": "0.x", "project": "demo",
     "created": "2026-12-01T10:00:00Z",
     "fingerprints": {
        "model": "sha256:…",                       # the resolved model, secrets as digests
        "services": {"api": {…canonical config, sensitive values as digests…}, …},
        "observed": {"container:demo-api-1": "<id> <config hash> <image id> <state>",
                     "network:demo_default": "<id>", "volume:demo_data": "volume",
                     "image:busybox:local": "sha256:…"},
        "build_contexts": {"demo-web": "sha256:…"}},
     "plan": {…the plan's JSON, version 2 (render.plan_json)…},
     "digest": "sha256:…"}                          # of everything above, canonical JSON

The revision ``apply`` records carries the document's digest, so that applying the same file
again is recognised ("already applied (revision N)", nothing run) before any staleness check.
``apply`` refuses (``PlanFileError``) a document of another format or version, one that does not
parse (truncated) or whose digest does not match (edited), and (``StalePlan``, exit 3) one whose
fingerprints differ from the files and the engine now, listing what moved. No secret value is in
the document: configs appear by hash, sensitive values as digests.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from stackup.core.errors import PlanFileError
from stackup.core.hashing import canonical_config, config_hash
from stackup.core.model import Project
from stackup.core.observed import ObservedState
from stackup.core.plan import Change, Kind, Operation, Plan
from stackup.core.redact import change_text, digest, field_changes, redact_config
from stackup.core.render import plan_json

FORMAT = "stackup-plan"
VERSION = 1


@dataclass(frozen=True, slots=True)
class Fingerprints:
    model: str
    services: Mapping[str, Any]
    observed: Mapping[str, str]
    build_contexts: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class SavedPlan:
    project_name: str
    fingerprints: Fingerprints
    plan: Mapping[str, Any]
    digest: str = ""  # the document's own ("sha256:…"): ``apply`` records it in the revision


def model_fingerprint(project: Project) -> tuple[str, dict[str, Any]]:
    """(digest, per-service redacted canonical configs) of the resolved model."""
    services: dict[str, Any] = {}
    for name, service in project.services.items():
        config = redact_config(canonical_config(project, service), service.env_file_keys)
        config["replicas"] = service.replicas
        config["depends_on"] = [dataclasses.asdict(d) for d in service.depends_on]
        services[name] = config
    whole = {"name": project.name, "services": services,
             "networks": {k: repr(v) for k, v in project.networks.items()},
             "volumes": {k: repr(v) for k, v in project.volumes.items()},
             "secrets": {k: digest(repr(v)) for k, v in project.secrets.items()},
             "configs": {k: digest(repr(v)) for k, v in project.configs.items()}}
    return digest(whole), services


def observed_fingerprint(observed: ObservedState) -> dict[str, str]:
    """What the plan was computed from, one string per engine object."""
    out: dict[str, str] = {}
    for c in observed.containers:
        out[f"container:{c.name}"] = f"{c.container_id} {c.config_hash} {c.image_id} {c.state}"
    for name, n in observed.networks.items():
        out[f"network:{name}"] = n.network_id or "network"
    for name in observed.volumes:
        out[f"volume:{name}"] = "volume"
    for ref, image_id in observed.images.items():
        out[f"image:{ref}"] = image_id or "missing"
    return dict(sorted(out.items()))


def fingerprints(project: Project, observed: ObservedState,
                 build_contexts: Mapping[str, str]) -> Fingerprints:
    model, services = model_fingerprint(project)
    return Fingerprints(model, services, observed_fingerprint(observed),
                        dict(sorted(build_contexts.items())))


def dump(plan: Plan, prints: Fingerprints, *, version: str, created: str) -> str:
    body = {"format": FORMAT, "version": VERSION, "stackup": version,
            "project": plan.project_name, "created": created,
            "fingerprints": {"model": prints.model, "services": prints.services,
                             "observed": prints.observed,
                             "build_contexts": prints.build_contexts},
            "plan": plan_json(plan)}
    body["digest"] = _digest(body)
    return json.dumps(body, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _digest(body: Mapping[str, Any]) -> str:
    text = json.dumps({k: v for k, v in body.items() if k != "digest"}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + sha256(text.encode("utf-8")).hexdigest()


def load(text: str, source: str) -> SavedPlan:
    """Parse and verify a plan document; ``PlanFileError`` says what is wrong with it."""
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise PlanFileError(f"{source} is not a stackup plan: it is not complete JSON ({exc})",
                            detail="Make the plan again: `stackup plan --out FILE`.") from exc
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise PlanFileError(f"{source} is not a stackup plan (no \"format\": \"{FORMAT}\")")
    if body.get("version") != VERSION:
        raise PlanFileError(f"{source} is a plan of version {body.get('version')!r}; this "
                            f"stackup reads version {VERSION}",
                            detail="Make the plan again with this stackup.")
    if body.get("digest") != _digest(body):
        raise PlanFileError(f"{source} was changed after it was written (its digest does not "
                            f"match)", detail="A reviewed plan must be applied as it was "
                                              "written; make the plan again.")
    try:
        prints = body["fingerprints"]
        return SavedPlan(str(body["project"]), Fingerprints(
            str(prints["model"]), dict(prints["services"]), dict(prints["observed"]),
            dict(prints["build_contexts"])), dict(body["plan"]), str(body["digest"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanFileError(f"{source} lacks {exc} (an incomplete plan)") from exc


def moved(saved: SavedPlan, now: Fingerprints, project: Project) -> list[str]:
    """What differs between the plan's fingerprints and the files and engine now."""
    out: list[str] = []
    then = saved.fingerprints
    if saved.project_name != project.name:
        out.append(f"the plan is for project {saved.project_name}, the files are for "
                   f"{project.name}")
    if then.model != now.model:
        for name in sorted(set(then.services) | set(now.services)):
            old, new = then.services.get(name), now.services.get(name)
            if old is None:
                out.append(f"service {name} was added to the files since the plan was made")
            elif new is None:
                out.append(f"service {name} was removed from the files since the plan was made")
            else:
                service = project.services.get(name)
                hidden = service.env_file_keys if service is not None else ()
                out.extend(f"service {name}: {change_text(c)} (differs from the plan)"
                           for c in field_changes(old, new, hidden))
        if not out:
            out.append("the networks, volumes, secrets or configs of the files differ from "
                       "the plan")
    for key in sorted(set(then.observed) | set(now.observed)):
        old_value, new_value = then.observed.get(key), now.observed.get(key)
        if old_value != new_value:
            out.append(_observed_move(key, old_value, new_value))
    for ref in sorted(set(then.build_contexts) | set(now.build_contexts)):
        if then.build_contexts.get(ref) != now.build_contexts.get(ref):
            out.append(f"the build context of {ref} changed since the plan was made")
    return out


def _observed_move(key: str, old: str | None, new: str | None) -> str:
    kind, _, name = key.partition(":")
    if old is None:
        return f"{kind} {name} appeared since the plan was made"
    if new is None:
        return f"{kind} {name} was removed since the plan was made"
    if kind == "container":
        old_id, new_id = old.split(" ", 1)[0], new.split(" ", 1)[0]
        if old_id != new_id:
            return f"container {name} was recreated since the plan was made"
        return f"container {name} changed state since the plan was made " \
               f"({old.rsplit(' ', 1)[-1]} → {new.rsplit(' ', 1)[-1]})"
    if kind == "image":
        return f"{name} now resolves to {new}"
    return f"{kind} {name} changed since the plan was made"


def to_plan(saved: SavedPlan, project: Project) -> Plan:
    """The saved operations as a Plan to execute, bound to the (verified) loaded project."""
    data = saved.plan
    ops = tuple(_operation(item, project) for item in data.get("operations", ()))
    return Plan(saved.project_name, ops, tuple(data.get("notes", ())),
                tuple(data.get("up_to_date", ())), project=project)


def _operation(item: Mapping[str, Any], project: Project) -> Operation:
    try:
        kind = Kind(item["action"])
        service = None
        if item.get("service") is not None:
            service = project.services.get(item["service"]) or \
                project.disabled_services.get(item["service"])
        config_json = None
        if kind is Kind.CREATE_CONTAINER:
            if service is None:
                raise PlanFileError(f"operation {item['id']}: service {item.get('service')} "
                                    f"is not in the files")
            digest_now, config_json = config_hash(project, service)
            if digest_now != item.get("config_hash"):
                raise PlanFileError(f"operation {item['id']}: the configuration of service "
                                    f"{service.name} differs from the plan")
        when = item.get("when_image")
        return Operation(
            str(item["id"]), kind, str(item["cause"]),
            depends_on=tuple(item.get("depends_on") or ()),
            if_failed=tuple(item.get("if_failed") or ()),
            when_image=(str(when["op"]), str(when["unless"])) if when else None,
            service=service, number=item.get("number"),
            container_name=item.get("container_name"), container_id=item.get("container_id"),
            new_name=item.get("new_name"), config_hash=item.get("config_hash"),
            config_json=config_json, image=item.get("image"),
            anonymous_volumes=tuple((str(a), str(b)) for a, b in
                                    item.get("anonymous_volumes") or ()),
            network_mode_container=item.get("network_mode_container"),
            hidden=bool(item.get("hidden")),
            watch=tuple(item.get("watch") or ()),
            network=project.networks.get(item["network"]) if item.get("network") else None,
            volume=project.volumes.get(item["volume"]) if item.get("volume") else None,
            name=item.get("engine_name"), timeout=item.get("timeout"),
            remove_volumes=bool(item.get("remove_volumes")), force=bool(item.get("force")),
            no_cache=bool(item.get("no_cache")), pull=bool(item.get("pull")),
            hook=item.get("hook"), after=tuple(item.get("after") or ()),
            settle=item.get("settle"), judge=tuple(item.get("judge") or ()),
            max_failures=int(item.get("max_failures") or 0),
            changes=tuple(Change(c["path"], c.get("old"), c.get("new"), bool(c.get("sensitive")))
                          for c in item.get("changes") or ()))
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanFileError(f"operation {item.get('id', '?')} of the plan is incomplete: "
                            f"{exc}") from exc
