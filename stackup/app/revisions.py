"""Revisions: one record per ``up`` / ``rollback``, kept on the engine, and the model it restores.

Pipeline position: beside ``render``, above the loader. After ``execute`` has run an ``up``, the
CLI builds a :class:`Revision` (the resolved model in ``stackup config --format json`` form, who,
when, the git source, the outcome), :func:`to_labels` encodes it into engine labels under the
``io.stackup.revision.*`` namespace (never the project's ownership label, so observe and
``down -v`` do not see it) and the engine stores it (one small volume per revision).
``history`` reads the labels back with :func:`from_labels` and shows what each revision changed
relative to the one before (:func:`model_changes`, sensitive values masked by ``redact``'s
rules); ``rollback`` turns a record into a ``Project`` again with :func:`restore_project`,
through the loader, without the old files. A run that changed nothing adds no record
(:func:`changed_nothing`); an ``apply`` records its plan file's digest.

The desired state lives here too: a rollback's record carries the number it rolled back to
(``rollback-to``), and while the newest record is such a one (:func:`desired_revision`), the
project's desired state is that model, not the stack files, until the next ``up`` or ``apply``
records a revision of the files. :func:`differences` names the fields where the files differ.

No secret value is recorded: the content of every secret and config (inline, from an
environment variable, or a file) is replaced by its sha256 digest. Restoring needs the content
back from what is available now (the environment, the files, the current stack file) and fails
naming the secret when none of it has that digest. Pure: no I/O (file digests come in).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from hashlib import sha256 as _sha256
from typing import Any

from stackup.core.errors import ProjectError
from stackup.run.events import Outcome
from stackup.core.model import Project
from stackup.core.plan import Change, Kind, Plan
from stackup.core.redact import change_text, field_changes
from stackup.ports.revisions import PREFIX as PREFIX
from stackup.ports.revisions import PROJECT as PROJECT
from stackup.ports.revisions import volume_name as volume_name  # noqa: F401 - R.volume_name

NUMBER, TOKEN, TIME = f"{PREFIX}.number", f"{PREFIX}.token", f"{PREFIX}.time"
USER, COMMAND, SERVICES = f"{PREFIX}.user", f"{PREFIX}.command", f"{PREFIX}.services"
OUTCOME, REASON = f"{PREFIX}.outcome", f"{PREFIX}.reason"
COMMIT, DIRTY = f"{PREFIX}.git-commit", f"{PREFIX}.git-dirty"
AUTHOR, MESSAGE = f"{PREFIX}.git-author", f"{PREFIX}.git-message"  # of the commit; optional
WORKING_DIR, VERSION = f"{PREFIX}.working-dir", f"{PREFIX}.stackup-version"
MODEL_SHA, DIGESTS = f"{PREFIX}.model-sha256", f"{PREFIX}.digests"
PLAN_DIGEST = f"{PREFIX}.plan-digest"  # ``apply``: the digest of the saved plan it ran
ENV_FILE_KEYS = f"{PREFIX}.env-file-keys"  # service → keys whose values came from env_file
ROLLBACK_TO = f"{PREFIX}.rollback-to"  # on a rollback's record: the revision it restored
MODEL_PARTS = f"{PREFIX}.model-parts"  # how many model.<i> labels follow
MODEL = f"{PREFIX}.model"  # model.0, model.1 ...: zlib + base64 of the model JSON, chunked

MAX_GIT_TEXT = 200  # characters of a commit's author or message line kept in a record
CHUNK = 64 * 1024  # characters per model label: far below any engine's limit
MAX_MODEL = 4 * 1024 * 1024  # encoded characters; a bigger model is refused, not truncated


@dataclass(frozen=True, slots=True)
class SecretDigest:
    """What a secret or config held, by digest: ``source`` is content, environment or file."""

    kind: str  # "secrets" | "configs"
    key: str
    source: str
    sha256: str  # hex; "" when the file could not be read at record time


@dataclass(frozen=True, slots=True)
class Revision:
    project_name: str
    number: int
    time: str  # RFC 3339, UTC
    user: str  # user@host
    command: str  # "up", "rollback to 3", "rollback to 3 (after revision 4 failed)"
    services: tuple[str, ...]  # named on the command line; () = all
    outcome: str  # "ok" | "failed"
    reason: str  # why it failed ("" when ok)
    model: str  # the model JSON, secret and config contents left out
    digests: tuple[SecretDigest, ...] = ()
    commit: str | None = None  # git commit of the stack files' work tree
    dirty: bool | None = None  # uncommitted changes in the project folder
    working_dir: str = ""
    stackup_version: str = ""
    token: str = ""  # who created the record (numbering races)
    plan_digest: str = ""  # ``apply FILE``: the saved plan's digest ("sha256:…")
    env_file_keys: Mapping[str, tuple[str, ...]] | None = None  # None: not recorded (older)
    rollback_to: int | None = None  # a rollback's record: the revision whose model it restored
    author: str | None = None  # the commit's author ("Name <email>"); None: not recorded
    message: str | None = None  # the commit message's first line (bounded); None: not recorded

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def model_sha256(self) -> str:
        return sha256(self.model)

    def summary(self) -> dict[str, Any]:
        """The JSON form ``history --format json`` prints (the model as a document, environment
        values that look secret masked)."""
        return {"number": self.number, "time": self.time, "user": self.user,
                "command": self.command, "services": list(self.services),
                "outcome": self.outcome, "reason": self.reason,
                "source": {"git_commit": self.commit, "git_dirty": self.dirty,
                           "git_author": self.author, "git_message": self.message,
                           "working_dir": self.working_dir},
                "model_sha256": self.model_sha256,
                "secrets": [{"kind": d.kind[:-1], "key": d.key, "source": d.source,
                             "sha256": d.sha256} for d in self.digests],
                "stackup_version": self.stackup_version,
                "plan_digest": self.plan_digest or None,
                "rollback_to": self.rollback_to,
                "model": masked_model(self)}


def sha256(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return _sha256(data).hexdigest()


# --- the model without secret values ----------------------------------------------------------


def file_sources(project: Project) -> list[str]:
    """The files whose digests :func:`recorded_model` needs (secrets and configs ``file:``)."""
    return sorted({obj.file for table in (project.secrets, project.configs)
                   for obj in table.values() if obj.file is not None and not obj.external})


def env_file_keys(project: Project) -> dict[str, tuple[str, ...]]:
    """Service → the environment keys whose values came from an ``env_file`` (masked in
    ``history``'s changes, as ``plan --diff`` masks them)."""
    return {name: tuple(sorted(service.env_file_keys))
            for name, service in sorted(project.services.items()) if service.env_file_keys}


def recorded_model(project: Project,
                   file_digests: Mapping[str, str]) -> tuple[str, tuple[SecretDigest, ...]]:
    """The model JSON to record and the digests standing in for the contents left out."""
    from stackup.loader.serialize import to_compose_dict

    doc = to_compose_dict(project)
    digests: list[SecretDigest] = []
    for kind in ("secrets", "configs"):
        for key, obj in getattr(project, kind).items():
            if obj.external:
                continue
            entry = doc.get(kind, {}).get(key, {})
            entry.pop("content", None)  # inline content (environment ones are never written)
            if obj.file is not None:
                digests.append(SecretDigest(kind, key, "file", file_digests.get(obj.file, "")))
            else:
                source = "environment" if obj.environment is not None else "content"
                digests.append(SecretDigest(kind, key, source, sha256(obj.content or "")))
    return json.dumps(doc, sort_keys=False, separators=(",", ":")), tuple(digests)


def restore_project(revision: Revision, *, environ: Mapping[str, str],
                    current: Project | None = None,
                    file_digests: Mapping[str, str] | None = None) -> Project:
    """The project of ``revision``, loaded back through the loader with the secret and config
    contents found again by digest in ``environ``, ``current`` (the stack files as they are
    now) or the files (``file_digests``: path → sha256 of what each holds now)."""
    from stackup.loader.interpolate import interpolate
    from stackup.loader.merge import strip_tags
    from stackup.loader.parse import parse_project
    from stackup.loader.yamlsrc import read_yaml

    doc = json.loads(revision.model)
    known = _known_contents(current)
    for digest in revision.digests:
        entry = doc.get(digest.kind, {}).get(digest.key)
        if entry is None:
            continue
        if digest.source == "content":
            if digest.sha256 not in known:
                raise _unavailable(revision, digest, "no secret or config of the current stack "
                                   "files has that content")
            entry["content"] = known[digest.sha256].replace("$", "$$")
        elif digest.source == "environment":
            value = environ.get(str(entry.get("environment")))
            if value is None or sha256(value) != digest.sha256:
                state = "is not set" if value is None else "holds something else now"
                raise _unavailable(revision, digest,
                                   f"the environment variable {entry.get('environment')} {state}")
        elif digest.sha256 and (file_digests or {}).get(str(entry.get("file"))) != digest.sha256:
            now = (file_digests or {}).get(str(entry.get("file")))
            state = "cannot be read" if not now else "holds something else now"
            raise _unavailable(revision, digest, f"the file {entry.get('file')} {state}")
    where = f"<revision {revision.number} of {revision.project_name}>"
    tree, _ = interpolate(read_yaml(json.dumps(doc), where), {})
    return parse_project(strip_tags(tree), project_name=revision.project_name,
                         working_dir=revision.working_dir or "/", environ=environ,
                         profiles=("*",), requested_services=(), config_files=(),
                         warnings=[])


def _known_contents(project: Project | None) -> dict[str, str]:
    if project is None:
        return {}
    return {sha256(obj.content): obj.content
            for table in (project.secrets, project.configs) for obj in table.values()
            if obj.content is not None}


def _unavailable(revision: Revision, digest: SecretDigest, why: str) -> ProjectError:
    kind = digest.kind[:-1]
    return ProjectError(
        f"cannot restore revision {revision.number}: the content of {kind} {digest.key!r} "
        f"is no longer available",
        detail=f"Revision {revision.number} used {kind} {digest.key!r} ({digest.source}) with "
               f"sha256 {digest.sha256[:16]}…, and {why}. No secret value is recorded in a "
               f"revision: make that content available again, then retry.")


# --- labels -------------------------------------------------------------------------------


def to_labels(revision: Revision) -> dict[str, str]:
    """The engine labels that carry ``revision`` (the model compressed and chunked)."""
    import base64
    import zlib

    encoded = base64.b64encode(zlib.compress(revision.model.encode("utf-8"), 9)).decode("ascii")
    if len(encoded) > MAX_MODEL:
        raise ProjectError(f"cannot record revision {revision.number} of "
                           f"{revision.project_name}: the model is too large",
                           detail=f"{len(encoded)} encoded characters, the limit is {MAX_MODEL}.")
    parts = [encoded[i:i + CHUNK] for i in range(0, len(encoded), CHUNK)] or [""]
    out = {PROJECT: revision.project_name, NUMBER: str(revision.number), TOKEN: revision.token,
           TIME: revision.time, USER: revision.user, COMMAND: revision.command,
           SERVICES: ",".join(revision.services), OUTCOME: revision.outcome,
           REASON: revision.reason[:2000], WORKING_DIR: revision.working_dir,
           VERSION: revision.stackup_version, MODEL_SHA: revision.model_sha256,
           DIGESTS: json.dumps([[d.kind, d.key, d.source, d.sha256] for d in revision.digests],
                               separators=(",", ":")),
           MODEL_PARTS: str(len(parts))}
    if revision.commit is not None:
        out[COMMIT] = revision.commit
    if revision.dirty is not None:
        out[DIRTY] = "true" if revision.dirty else "false"
    if revision.author is not None:
        out[AUTHOR] = git_line(revision.author)
    if revision.message is not None:
        out[MESSAGE] = git_line(revision.message)
    if revision.plan_digest:
        out[PLAN_DIGEST] = revision.plan_digest
    if revision.env_file_keys is not None:
        out[ENV_FILE_KEYS] = json.dumps({k: list(v) for k, v in revision.env_file_keys.items()},
                                        separators=(",", ":"), sort_keys=True)
    if revision.rollback_to is not None:
        out[ROLLBACK_TO] = str(revision.rollback_to)
    out.update({f"{MODEL}.{i}": part for i, part in enumerate(parts)})
    return out


def from_labels(labels: Mapping[str, str], where: str = "") -> Revision:
    """A record back from its labels; a damaged one is a ProjectError naming ``where``."""
    import base64
    import binascii
    import zlib

    try:
        count = int(labels[MODEL_PARTS])
        encoded = "".join(labels[f"{MODEL}.{i}"] for i in range(count))
        model = zlib.decompress(base64.b64decode(encoded)).decode("utf-8")
        digests = tuple(SecretDigest(*map(str, row)) for row in json.loads(labels[DIGESTS]))
        revision = Revision(
            project_name=labels[PROJECT], number=int(labels[NUMBER]), time=labels[TIME],
            user=labels[USER], command=labels[COMMAND],
            services=tuple(s for s in labels[SERVICES].split(",") if s),
            outcome=labels[OUTCOME], reason=labels.get(REASON, ""), model=model,
            digests=digests, commit=labels.get(COMMIT),
            dirty={"true": True, "false": False}.get(labels.get(DIRTY, "")),
            working_dir=labels.get(WORKING_DIR, ""), stackup_version=labels.get(VERSION, ""),
            token=labels.get(TOKEN, ""), plan_digest=labels.get(PLAN_DIGEST, ""),
            env_file_keys=_env_file_keys(labels.get(ENV_FILE_KEYS)),
            rollback_to=int(labels[ROLLBACK_TO]) if ROLLBACK_TO in labels else None,
            author=labels.get(AUTHOR), message=labels.get(MESSAGE))
    except (KeyError, ValueError, TypeError, binascii.Error, zlib.error) as exc:
        raise ProjectError(f"damaged revision record {where}".rstrip(),
                           detail=f"{type(exc).__name__}: {exc}") from None
    if revision.model_sha256 != labels.get(MODEL_SHA):
        raise ProjectError(f"damaged revision record {where}".rstrip(),
                           detail="the model does not match its recorded sha256")
    return revision


def git_line(text: str) -> str:
    """A commit's author or message as a record keeps it: the first line, at most
    ``MAX_GIT_TEXT`` characters (what ``git log --oneline`` shows, nothing more)."""
    lines = text.strip().splitlines()
    line = lines[0].strip() if lines else ""
    return line if len(line) <= MAX_GIT_TEXT else line[:MAX_GIT_TEXT - 1] + "…"


def _env_file_keys(raw: str | None) -> dict[str, tuple[str, ...]] | None:
    if raw is None:
        return None
    parsed = json.loads(raw)
    if not isinstance(parsed, dict):
        raise ValueError("env-file-keys is not a JSON object")
    return {str(k): tuple(str(x) for x in v) for k, v in parsed.items()}


def changed_nothing(plan: Plan | None, outcome: Outcome, command: str) -> bool:
    """Whether a successful run left what runs as it was: an empty plan, or one that only
    started, waited for, built or pulled (a finished one-shot started again), never created,
    replaced or removed anything. An ``apply`` of a non-empty plan always counts as a change:
    its record carries the plan's digest (``apply`` of it again: "already applied")."""
    if plan is None or not outcome.ok:
        return False
    if plan.empty:
        return True
    keeps = {Kind.START_CONTAINER, Kind.WAIT_HEALTHY, Kind.WAIT_COMPLETED, Kind.WAIT_RUNNING,
             Kind.BUILD_IMAGE, Kind.PULL_IMAGE}
    return command != "apply" and all(op.kind in keeps for op in outcome.done)


def next_number(existing: Iterable[int]) -> int:
    return max(existing, default=0) + 1


def rollback_target(revisions: Sequence[Revision], number: int | None = None) -> Revision:
    """Revision ``number``, or the previous good one: the newest successful revision before the
    latest whose model differs from the latest's (rolling back to the same model is no
    rollback). ``revisions`` sorted by number."""
    if not revisions:
        raise ProjectError("no revisions recorded for this project",
                           detail="`stackup up` records one each time it runs.")
    if number is not None:
        for revision in revisions:
            if revision.number == number:
                return revision
        raise ProjectError(f"no revision {number}",
                           detail="Recorded: " + ", ".join(str(r.number) for r in revisions))
    latest = revisions[-1]
    for revision in reversed(revisions[:-1]):
        if revision.ok and revision.model_sha256 != latest.model_sha256:
            return revision
    raise ProjectError("no earlier good revision to roll back to",
                       detail=f"The latest is revision {latest.number}; `stackup history` "
                              "lists them.")


def previous_good(revisions: Sequence[Revision], before: int) -> Revision | None:
    """The newest successful revision numbered below ``before`` (for --rollback-on-failure)."""
    for revision in reversed(revisions):
        if revision.number < before and revision.ok:
            return revision
    return None


# --- what a revision changed ------------------------------------------------------------------


@dataclass(frozen=True)
class ModelChange:
    """One service, network, volume, secret or config a revision added, removed or changed,
    with its changed fields (sensitive values masked by ``redact``'s rules)."""

    kind: str  # "service" | "network" | "volume" | "secret" | "config"
    name: str
    change: str  # "added" | "removed" | "changed"
    fields: tuple[Change, ...] = ()

    def keys(self) -> list[str]:
        """The changed keys, shortened for a table: ``environment.VERSION``, ``ports``."""
        out: list[str] = []
        for field in self.fields:
            key = ".".join(field.path.split("[", 1)[0].split(".")[:2])
            if key not in out:
                out.append(key)
        return out

    def text(self) -> str:
        label = self.name if self.kind == "service" else f"{self.kind} {self.name}"
        if self.change == "added":
            return f"+{label}"
        if self.change == "removed":
            return f"-{label}"
        return f"{label} ({', '.join(self.keys())})" if self.fields else label

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "change": self.change,
                "fields": [{"path": c.path, "old": c.old, "new": c.new,
                            "sensitive": c.sensitive, "text": change_text(c)}
                           for c in self.fields]}


_KINDS = (("services", "service"), ("networks", "network"), ("volumes", "volume"),
          ("secrets", "secret"), ("configs", "config"))


def model_changes(before: Revision, after: Revision) -> tuple[ModelChange, ...]:
    """What ``after`` changed relative to ``before``: services first, then the project's
    networks, volumes, secrets and configs; each by name. Environment values that look secret
    (or came from an env_file) and every secret and config content show as changed, never
    with their values."""
    old_doc, new_doc = json.loads(before.model), json.loads(after.model)
    old_digests = {(d.kind, d.key): d.sha256 for d in before.digests}
    new_digests = {(d.kind, d.key): d.sha256 for d in after.digests}
    out: list[ModelChange] = []
    for table, kind in _KINDS:
        old_items, new_items = old_doc.get(table) or {}, new_doc.get(table) or {}
        for name in sorted(set(old_items) | set(new_items)):
            if name not in old_items:
                out.append(ModelChange(kind, name, "added"))
                continue
            if name not in new_items:
                out.append(ModelChange(kind, name, "removed"))
                continue
            hidden = _hidden_keys(before, after, name) if kind == "service" else ()
            fields = field_changes(old_items[name], new_items[name], hidden)
            if table in ("secrets", "configs") and \
                    old_digests.get((table, name)) != new_digests.get((table, name)):
                fields.append(Change("content", None, None, sensitive=True))
            if fields:
                out.append(ModelChange(kind, name, "changed", tuple(fields)))
    return tuple(out)


def _hidden_keys(before: Revision, after: Revision, service: str) -> tuple[str, ...]:
    keys = {*(before.env_file_keys or {}).get(service, ()),
            *(after.env_file_keys or {}).get(service, ())}
    return tuple(sorted(keys))


def changes_text(changes: Sequence[ModelChange], limit: int = 120) -> str:
    """One line for ``history``'s CHANGES column (cut at ``limit`` characters)."""
    text = "; ".join(c.text() for c in changes) or "(same model)"
    return text if len(text) <= limit else text[:limit - 1] + "…"


def masked_model(revision: Revision) -> dict[str, Any]:
    """The recorded model for display: environment values that look secret (or came from an
    env_file) replaced by their digest, as ``plan`` and saved plans show them."""
    from stackup.core.redact import digest, sensitive_key

    doc = json.loads(revision.model)
    for name, service in (doc.get("services") or {}).items():
        hidden = set((revision.env_file_keys or {}).get(name, ()))
        env = service.get("environment")
        if isinstance(env, dict):
            service["environment"] = {
                k: digest(v) if v is not None and (sensitive_key(k) or k in hidden) else v
                for k, v in env.items()}
    return doc


def desired_revision(revisions: Sequence[Revision]) -> Revision | None:
    """The record whose model is the project's desired state, when it is not the stack files:
    the newest record, if a rollback wrote it (``revisions`` sorted by number)."""
    if revisions and revisions[-1].rollback_to is not None:
        return revisions[-1]
    return None


def differences(files: Project, running: Project) -> list[str]:
    """Where ``files`` (the stack files) differ from ``running`` (a revision's model), service
    by service: ``web: environment.VERSION, image``, ``extra: only in the stack files``. Field
    names only: no value is shown, so none can leak."""
    from stackup.core.hashing import canonical_config
    from stackup.core.redact import field_changes

    out = []
    for name in sorted(set(files.services) | set(running.services)):
        if name not in running.services:
            out.append(f"{name}: only in the stack files")
        elif name not in files.services:
            out.append(f"{name}: not in the stack files")
        else:
            new = files.services[name]
            changes = field_changes(canonical_config(running, running.services[name]),
                                    canonical_config(files, new), new.env_file_keys)
            paths = list(dict.fromkeys(c.path for c in changes))
            if paths:
                shown = ", ".join(paths[:6]) + (f" and {len(paths) - 6} more"
                                                 if len(paths) > 6 else "")
                out.append(f"{name}: {shown}")
    return out
