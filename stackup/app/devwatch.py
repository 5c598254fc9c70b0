"""What ``stackup watch`` does for a batch of file changes: the ``develop.watch`` rules applied.

Pipeline position: pure, beside ``reconcile``: changed host paths + the project's rules →
``Actions`` (files to copy into or remove from containers, services to restart, commands to
run, services to rebuild and recreate). ``app.devwatch_sync`` carries them out on the engine;
``cli.commands.watch`` runs the loop. As in Compose: a path matches a rule when it is the rule's
``path`` or under it, is not ``ignore``d (gitignore-style patterns relative to the rule's path,
and the build context's ``.dockerignore`` for ``rebuild``) and, when ``include`` is set, matches
one of its patterns; a service that is rebuilt in a batch gets no syncs in that batch (the new
container starts from the new image); a rebuild recreates every service that runs the image.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from stackup.core.model import Hook, Project, Service, WatchRule

ADDED, MODIFIED, DELETED = "added", "modified", "deleted"
SYNCS = ("sync", "sync+restart", "sync+exec")


@dataclass(frozen=True, slots=True)
class Copy:
    """Copy ``host_path`` (a file or a directory, as it is when copied) to ``container_path``
    in the service's containers; when it no longer exists, remove ``container_path``."""

    service: str
    host_path: str
    container_path: str
    rule: WatchRule | None = field(default=None, compare=False)  # its ignore/include, for folders


@dataclass(frozen=True, slots=True)
class Remove:
    service: str
    container_path: str


@dataclass(frozen=True, slots=True)
class Actions:
    """One batch's work, each part sorted, in the order it is done: copies and removals,
    then restarts and commands, and rebuilds (a rebuilt service has nothing else)."""

    copies: tuple[Copy, ...] = ()
    removals: tuple[Remove, ...] = ()
    restarts: tuple[str, ...] = ()
    execs: tuple[tuple[str, Hook], ...] = ()
    rebuilds: tuple[str, ...] = ()  # the services whose build makes the image
    recreates: tuple[str, ...] = ()  # every service running a rebuilt image

    @property
    def empty(self) -> bool:
        return not (self.copies or self.removals or self.restarts or self.execs
                    or self.rebuilds)


# --- gitignore-style patterns ---------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    """A slash-separated pattern → a regex over a whole relative path: ``**`` crosses
    folders, ``*`` and ``?`` do not, ``[...]`` as in fnmatch."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape("["))
                i += 1
            else:
                out.append(fnmatch.translate(pattern[i:end + 1])[4:-3])
                i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _one(pattern: str, relative: str) -> bool:
    """Whether one pattern (no ``!``) matches ``relative`` or a folder it is in."""
    folder_only = pattern.endswith("/")
    anchored = "/" in pattern.rstrip("/")  # a slash before the end: relative to the base
    pattern = pattern.strip("/")
    parts = relative.split("/")
    for end in range(1, len(parts) + 1):
        if folder_only and end == len(parts):
            break  # the path itself may be a file: only the folders above it count
        prefix = "/".join(parts[:end])
        subject = prefix if anchored else parts[end - 1]
        if _regex(pattern).match(subject):
            return True
    return False


def matches(patterns: Iterable[str], relative: str) -> bool:
    """gitignore's rule: the last pattern that matches decides; ``!pattern`` un-matches."""
    found = False
    for pattern in patterns:
        pattern = pattern.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        if _one(pattern[1:] if negated else pattern, relative):
            found = not negated
    return found


def relative_to(base: str, path: str) -> str | None:
    """``path`` relative to ``base`` with ``/`` separators (``.`` for ``base`` itself), or
    None when it is not under it."""
    if path != base and not path.startswith(base.rstrip(os.sep) + os.sep):
        return None
    rel = os.path.relpath(path, base)
    return rel.replace(os.sep, "/")


def rule_applies(rule: WatchRule, path: str,
                 extra_ignore: tuple[str, tuple[str, ...]] | None = None) -> str | None:
    """The path relative to the rule's when the rule handles a change of ``path``, else None.
    ``extra_ignore``: (base folder, patterns) of a ``.dockerignore``."""
    rel = relative_to(rule.path, path)
    if rel is None:
        return None
    if rel != ".":
        if matches(rule.ignore, rel):
            return None
        if rule.include and not matches(rule.include, rel):
            return None
    if extra_ignore is not None:
        base, patterns = extra_ignore
        under = relative_to(base, path)
        if under not in (None, ".") and matches(patterns, under):
            return None
    return rel


# --- a batch → actions ----------------------------------------------------------------------


def container_path(rule: WatchRule, rel: str) -> str:
    assert rule.target is not None
    return rule.target if rel == "." else posixpath.join(rule.target, rel)


def decide(project: Project, changes: Iterable[tuple[str, str]], *,
           services: Iterable[str] = (),
           dockerignore: Mapping[str, tuple[str, tuple[str, ...]]] | None = None) -> Actions:
    """``changes``: (``added`` | ``modified`` | ``deleted``, absolute host path), one batch.
    ``services``: those watched (empty: every service with rules). ``dockerignore``: service
    → (its build context, the patterns of its ``.dockerignore``), for its rebuild rules."""
    wanted = set(services)
    watched = [s for name, s in sorted(project.services.items())
               if s.develop is not None and s.develop.watch and (not wanted or name in wanted)]
    latest: dict[str, str] = {}
    for kind, path in changes:
        latest[path] = kind  # the last change of a path in the batch is what it is now
    copies: set[Copy] = set()
    removals: set[Remove] = set()
    restarts: set[str] = set()
    execs: dict[tuple[str, Hook], None] = {}
    rebuilds: set[str] = set()
    for service in watched:
        assert service.develop is not None
        ignore = (dockerignore or {}).get(service.name)
        for path, kind in sorted(latest.items()):
            for rule in service.develop.watch:
                rel = rule_applies(rule, path, ignore if rule.action == "rebuild" else None)
                if rel is None:
                    continue
                if rule.action == "rebuild":
                    rebuilds.add(service.name)
                    continue
                if rule.action in SYNCS:
                    target = container_path(rule, rel)
                    if kind == DELETED:
                        removals.add(Remove(service.name, target))
                    else:
                        copies.add(Copy(service.name, path, target, rule))
                if rule.action in ("restart", "sync+restart"):
                    restarts.add(service.name)
                elif rule.action == "sync+exec" and rule.exec is not None:
                    execs[(service.name, rule.exec)] = None
    copies = {c for c in copies if not any(
        o is not c and o.service == c.service and o.rule == c.rule and relative_to(o.host_path, c.host_path)
        not in (None, ".") for o in copies)}  # a folder copied whole carries what it holds
    rebuilds = {s for s in rebuilds if project.services[s].build is not None}
    recreates = users_of_images(project, rebuilds)
    return Actions(
        copies=tuple(sorted((c for c in copies if c.service not in recreates),
                            key=lambda c: (c.service, c.container_path))),
        removals=tuple(sorted((r for r in removals if r.service not in recreates),
                              key=lambda r: (r.service, r.container_path))),
        restarts=tuple(sorted(restarts - recreates)),
        execs=tuple(e for e in execs if e[0] not in recreates),
        rebuilds=tuple(sorted(rebuilds)), recreates=tuple(sorted(recreates)))


def users_of_images(project: Project, built: Iterable[str]) -> set[str]:
    """Every service that runs the image one of ``built`` makes (``image:`` or the default
    ``<project>-<service>`` name)."""
    refs = {project.services[name].image_ref(project.name) for name in built}
    return {name for name, s in project.services.items() if s.image_ref(project.name) in refs}


def initial_syncs(project: Project, services: Iterable[str] = ()) -> Actions:
    """``initial_sync: true``: each such rule's whole path copied once at start."""
    wanted = set(services)
    copies = [Copy(s.name, rule.path, container_path(rule, "."), rule)
              for name, s in sorted(project.services.items())
              if s.develop is not None and (not wanted or name in wanted)
              for rule in s.develop.watch
              if rule.initial_sync and rule.action in SYNCS]
    return Actions(copies=tuple(copies))


def watched_paths(project: Project, services: Iterable[str] = ()) -> list[str]:
    """The host paths to watch (those that exist), each once, sorted."""
    wanted = set(services)
    return sorted({rule.path for name, s in project.services.items()
                   if s.develop is not None and (not wanted or name in wanted)
                   for rule in s.develop.watch})


def services_with_rules(project: Project) -> list[Service]:
    return [s for _, s in sorted(project.services.items())
            if s.develop is not None and s.develop.watch]
