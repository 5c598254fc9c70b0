"""Every command and visible flag of `docker compose` 2.26 (``tests/data/compose-2.26-flags.txt``)
is one of stackup's, or the README's "Compose commands and flags" table gives the reason it is
not."""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from stackup.cli.main import COMMANDS, cli

ROOT = Path(__file__).resolve().parent.parent
GLOBAL_ONLY = {"--dry-run"}  # Compose shows it under every command; stackup's is global


def _options(command: click.Command) -> set[str]:
    return {name for p in command.params if isinstance(p, click.Option)
            for name in (*p.opts, *p.secondary_opts)}


def _compose_flags() -> list[tuple[str, str]]:
    rows = []
    for line in (ROOT / "tests/data/compose-2.26-flags.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            command, flag, *_ = line.split()
            rows.append((command, flag))
    return rows


def test_every_compose_flag_is_there_or_the_readme_says_why() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Compose commands and flags")[1].split("\n## ")[0]
    missing = []
    for command, flag in _compose_flags():
        if command == "(global)":
            have = _options(cli)
        elif command in COMMANDS:
            module, _, attribute = COMMANDS[command].partition(":")
            have = _options(getattr(importlib.import_module(module), attribute))
            have |= GLOBAL_ONLY & _options(cli)
        else:
            have = set()
        if flag in have:
            continue
        said = f"`{flag}`" in table if command == "(global)" else (
            f"`{command} {flag}`" in table or (f"`{command}`" in table and f"`{flag}`" in table))
        if not said:
            missing.append(f"{command} {flag}")
    assert missing == [], "Compose flags neither in stackup nor explained in the README"


def test_every_compose_command_is_a_stackup_command() -> None:
    commands = {command for command, _ in _compose_flags() if command != "(global)"}
    assert commands <= set(COMMANDS), sorted(commands - set(COMMANDS))
