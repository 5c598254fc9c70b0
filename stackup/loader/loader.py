"""Load a project: stack files + environment → ``Project``.

Pipeline position: the entry point of ``loader``. discover → env (.env / --env-file) →
yamlsrc → interpolate → extends → include → merge → strip tags → ``loader.parse.parse_project``.
Pure apart from reading files: the process environment and stdin come in through
:class:`LoadOptions`; nothing here chdirs, prints or exits.

Interpolation environment, highest first: ``environ`` > ``--env-file`` files (a later file
overrides an earlier one; ``COMPOSE_ENV_FILES``, comma-separated, when none is given) > ``.env``
in the project directory (only without env files, and not with ``COMPOSE_DISABLE_ENV_FILE``).
``COMPOSE_FILE``, ``COMPOSE_PROJECT_NAME`` and ``COMPOSE_PROFILES`` are read from that merged
environment, as Compose does; to find ``COMPOSE_FILE`` the ``.env`` of ``--project-directory``
(or the working directory) is consulted.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from stackup.core.errors import Location, ProjectError, SpecError
from stackup.core.model import Project
from stackup.loader.discover import enabled_profiles, find_stack_files, project_name
from stackup.loader.dotenv import parse_env_file
from stackup.loader.extends import resolve_extends
from stackup.loader.include import apply_include
from stackup.loader.interpolate import interpolate
from stackup.loader.limits import read_text
from stackup.loader.located import LDict
from stackup.loader.merge import merge_documents, strip_tags
from stackup.loader.yamlsrc import read_yaml


@dataclass(frozen=True, slots=True)
class LoadOptions:
    files: tuple[str, ...] = ()  # -f; "-" = stdin
    project_name: str | None = None  # -p
    project_directory: str | None = None  # --project-directory
    env_files: tuple[str, ...] = ()  # --env-file (repeatable)
    profiles: tuple[str, ...] = ()  # --profile
    services: tuple[str, ...] = ()  # services named on the command line (activate profiles)
    environ: Mapping[str, str] = field(default_factory=dict)  # the process environment
    stdin: str | None = None  # text of stdin when a file is "-"
    cwd: str = "."  # the caller's working directory, for relative paths
    interpolate: bool = True  # False: ${VAR} stays as written (config --no-interpolate)


@dataclass(frozen=True, slots=True)
class Loaded:
    project: Project
    warnings: tuple[str, ...]
    environment: Mapping[str, str]  # the merged interpolation environment
    # the merged tree the project was parsed from: where each value was written (preflight)
    tree: LDict | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class LoadedTree:
    """Everything decided before parsing: the merged tree and its context."""

    tree: LDict
    project_name: str
    working_dir: str
    environment: Mapping[str, str]
    files: tuple[str, ...]
    warnings: tuple[str, ...]
    profiles: tuple[str, ...]
    # (section, name) → the environment of the include that brought that resource in
    scopes: Mapping[tuple[str, str], Mapping[str, str]] = field(default_factory=dict)


def _env_layer(path: str, lookup: Mapping[str, str]) -> dict[str, str]:
    values = parse_env_file(path, lookup)
    return {k: v for k, v in values.items() if v is not None}


def build_environment(options: LoadOptions, project_dir: str) -> dict[str, str]:
    """The interpolation environment (see the module docstring for precedence)."""
    cwd = os.path.abspath(options.cwd)
    env: dict[str, str] = {}
    env_files = options.env_files or tuple(
        f for f in options.environ.get("COMPOSE_ENV_FILES", "").split(",") if f)
    if env_files:
        for name in env_files:
            path = os.path.join(cwd, os.path.expanduser(name))
            if not os.path.isfile(path):
                raise ProjectError(f"env file not found: {name}", detail=f"Looked for {path}.")
            env.update(_env_layer(path, {**env, **options.environ}))
    elif options.environ.get("COMPOSE_DISABLE_ENV_FILE", "").lower() not in ("1", "true"):
        dotenv = os.path.join(project_dir, ".env")
        if os.path.isfile(dotenv):
            env.update(_env_layer(dotenv, options.environ))
    env.update(options.environ)
    return env


def _read_source(path: str, options: LoadOptions) -> LDict:
    if path == "-":
        return read_yaml(options.stdin or "", "-", empty_ok=False)
    text = read_text(path)  # OSError: callers say which file needed it
    return read_yaml(text, path, empty_ok=False)


def load_tree(options: LoadOptions) -> LoadedTree:
    """Discover, read, interpolate, resolve extends and merge; no parsing into the model."""
    cwd = os.path.abspath(options.cwd)
    first_dir = os.path.abspath(os.path.join(cwd, options.project_directory or "."))
    files = list(options.files)
    if not files:
        early_env = build_environment(options, first_dir)
        files = find_stack_files(options.project_directory, [], early_env, cwd)
    else:
        files = find_stack_files(options.project_directory, files, options.environ, cwd)
    if options.project_directory:
        working_dir = first_dir
    elif files[0] == "-":
        working_dir = cwd
    else:
        working_dir = os.path.dirname(files[0])
    env = build_environment(options, working_dir)
    warnings: list[str] = []
    cache: dict[str, LDict] = {}
    scopes: dict[tuple[str, str], Mapping[str, str]] = {}

    def read_interpolated(path: str) -> LDict:
        if path not in cache:
            raw = _read_source(path, options)
            tree, more = interpolate(raw, env) if options.interpolate else (raw, [])
            warnings.extend(w for w in more if w not in warnings)
            cache[path] = tree
        return cache[path]

    merged: LDict | None = None
    for path in files:
        try:
            tree = read_interpolated(path)
        except OSError as err:
            raise SpecError(f"cannot read {path}: {err.strerror}",
                            location=Location(path)) from None
        origin = os.path.join(cwd, "stdin") if path == "-" else path
        tree = resolve_extends(tree, origin, read_interpolated)
        tree = apply_include(tree, origin, working_dir, env, warnings, scopes=scopes)
        merged = strip_tags(tree) if merged is None else merge_documents(merged, tree)
    assert merged is not None
    top_name = merged.get("name")
    name = project_name(options.project_name, env,
                        top_name if isinstance(top_name, str) else None, working_dir)
    profiles = enabled_profiles(options.profiles, env)
    return LoadedTree(merged, name, working_dir, env, tuple(files), tuple(warnings), profiles,
                      scopes)


def load_project(options: LoadOptions) -> Loaded:
    """Load and parse the project described by ``options``."""
    from stackup.loader.parse import parse_project

    loaded = load_tree(options)
    warnings = list(loaded.warnings)
    project = parse_project(
        loaded.tree, project_name=loaded.project_name, working_dir=loaded.working_dir,
        environ=loaded.environment, profiles=loaded.profiles,
        requested_services=tuple(options.services), config_files=loaded.files,
        warnings=warnings, scopes=loaded.scopes)
    return Loaded(project, tuple(warnings), loaded.environment, loaded.tree)
