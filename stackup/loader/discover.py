"""Find the stack files, the project name and the enabled profiles.

Pipeline position: the loader's first decisions, before any YAML is read. Inputs are the
command-line values and an environment mapping passed in (never ``os.environ``).
Without ``-f`` or ``COMPOSE_FILE`` the project directory (or the working directory) is searched,
then its parents up to the root, as Compose does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from stackup.core.errors import ProjectError

DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
OVERRIDE_FILES = ("compose.override.yaml", "compose.override.yml",
                  "docker-compose.override.yaml", "docker-compose.override.yml")
VALID_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")


def find_stack_files(project_directory: str | None, files: list[str],
                     environ: Mapping[str, str], cwd: str = ".") -> list[str]:
    """The stack files to load, in merge order: absolute paths, ``-`` for stdin.

    ``-f`` files win; else ``COMPOSE_FILE`` (split by ``COMPOSE_PATH_SEPARATOR`` or
    ``os.pathsep``); else the first default name in the project directory plus its override file,
    or in the nearest parent directory that has one.
    Relative ``-f``/``COMPOSE_FILE`` paths are relative to ``cwd``.
    """
    base = os.path.abspath(cwd)
    if files:
        return [_existing(f, base) for f in files]
    compose_file = environ.get("COMPOSE_FILE", "")
    if compose_file:
        separator = environ.get("COMPOSE_PATH_SEPARATOR") or os.pathsep
        listed = [p for p in compose_file.split(separator) if p]
        root = os.path.join(base, project_directory) if project_directory else base
        return [_existing(f, root) for f in listed]
    start = os.path.abspath(os.path.join(base, project_directory or "."))
    directory = start
    while True:
        found = _defaults_in(directory)
        if found:
            return found
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    raise ProjectError(f"no stack file found in {start} or its parent directories",
                       detail=f"Looked for {', '.join(DEFAULT_FILES)}. Create one, or name "
                              "files with -f or COMPOSE_FILE.")


def _defaults_in(directory: str) -> list[str]:
    """The first default stack file in ``directory`` and its override file, if any."""
    for name in DEFAULT_FILES:
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate):
            found = [candidate]
            for override in OVERRIDE_FILES:
                extra = os.path.join(directory, override)
                if os.path.isfile(extra):
                    found.append(extra)
                    break
            return found
    return []


def _existing(path: str, base: str) -> str:
    if path == "-":
        return path
    full = os.path.normpath(os.path.join(base, os.path.expanduser(path)))
    if not os.path.exists(full):
        raise ProjectError(f"stack file not found: {path}",
                           detail=f"Looked for {full}.")
    return full


def normalize_name(raw: str) -> str:
    """A directory basename turned into a valid project name (may return "")."""
    lowered = raw.lower()
    kept = "".join(c for c in lowered if c.isascii() and (c.isalnum() or c in "_-"))
    return kept.lstrip("_-")


def _check(name: str, source: str) -> str:
    if not VALID_NAME.match(name):
        raise ProjectError(f"invalid project name {name!r} (from {source})",
                           detail="A project name is lowercase letters, digits, '_' and '-', "
                                  "and starts with a letter or digit.")
    return name


def project_name(explicit: str | None, environ: Mapping[str, str], top_level_name: str | None,
                 project_dir: str) -> str:
    """``-p`` > ``COMPOSE_PROJECT_NAME`` > top-level ``name:`` > the directory's basename."""
    if explicit:
        return _check(explicit, "-p")
    if environ.get("COMPOSE_PROJECT_NAME"):
        return _check(environ["COMPOSE_PROJECT_NAME"], "COMPOSE_PROJECT_NAME")
    if top_level_name:
        return _check(str(top_level_name), "the top-level 'name:'")
    base = os.path.basename(os.path.normpath(os.path.abspath(project_dir)))
    name = normalize_name(base)
    if not name:
        raise ProjectError(f"cannot derive a project name from the directory {base!r}",
                           detail="Set one with -p, COMPOSE_PROJECT_NAME or a top-level 'name:'.")
    return name


def enabled_profiles(explicit: list[str] | tuple[str, ...],
                     environ: Mapping[str, str]) -> tuple[str, ...]:
    """``--profile`` values (comma lists allowed) plus ``COMPOSE_PROFILES``, first use order."""
    names: list[str] = []
    sources = list(explicit) or [environ.get("COMPOSE_PROFILES", "")]
    for value in sources:
        for part in value.split(","):
            part = part.strip()
            if part and part not in names:
                names.append(part)
    return tuple(names)
