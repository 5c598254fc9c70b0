"""The CLI's commands are looked up lazily (click's lazy-group pattern, ``cli.main.COMMANDS``):
a command's module is imported only when the command is used, importing a command module
registers nothing, and every command is still there: by name, in --help, and for completion."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import click
from click.testing import CliRunner

from stackup.cli.main import COMMANDS, cli


def _python(code: str, **env: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **env})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_each_name_in_the_table_is_the_command_of_that_name() -> None:
    for name, target in COMMANDS.items():
        module, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command), target
        assert command.name == name, target


def test_every_command_module_is_in_the_table_and_registers_nothing() -> None:
    """One module per command: ``cli/commands/NAME.py`` defines the command NAME and no other,
    every one is in the table (else unreachable), and importing them adds nothing to the group."""
    out = _python(
        "import importlib, pkgutil, click, stackup.cli.commands\n"
        "from stackup.cli.main import cli\n"
        "before = dict(cli.commands)\n"
        "for m in pkgutil.iter_modules(stackup.cli.commands.__path__):\n"
        "    mod = importlib.import_module(f'stackup.cli.commands.{m.name}')\n"
        "    for attr, value in vars(mod).items():\n"
        "        if isinstance(value, click.Command):\n"
        "            print(f'{m.name} {value.name} stackup.cli.commands.{m.name}:{attr}')\n"
        "assert cli.commands == before == {}, cli.commands\n")
    rows = [line.split() for line in out.splitlines()]
    assert all(module == name.replace("-", "_") for module, name, _ in rows), rows
    assert len(rows) == len({name for _, name, _ in rows})  # one command per module
    assert {name: target for _, name, target in rows} == COMMANDS


def test_a_command_imports_its_own_module_only() -> None:
    out = _python(
        "import sys\n"
        "from stackup.cli import main as M\n"
        "try:\n"
        "    M.main(['ps', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('stackup.cli.commands.')))\n")
    last = out.strip().splitlines()[-1]
    assert last == "['stackup.cli.commands.ps']"


def test_help_lists_every_command_and_unknown_names_still_fail_clearly() -> None:
    shown = CliRunner().invoke(cli, ["--help"], obj=None)
    assert shown.exit_code == 0, shown.output
    for name in COMMANDS:
        assert f"\n  {name} " in shown.output
    wrong = CliRunner().invoke(cli, ["upp"])
    assert wrong.exit_code == 2
    assert "No such command 'upp'" in wrong.output


def test_completion_completes_command_names() -> None:
    out = _python("from stackup.cli.main import main\nmain()\n",
                  _STACKUP_COMPLETE="bash_complete", COMP_WORDS="stackup st", COMP_CWORD="1")
    assert {"plain,start", "plain,stats", "plain,stop"} <= set(out.split())
