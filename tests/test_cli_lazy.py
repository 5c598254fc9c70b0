"""The CLI imports a command's module only when the command is used (start-up time), and every
command is still there: by name, in --help, and for shell completion."""

from __future__ import annotations

import os
import subprocess
import sys

from click.testing import CliRunner


def _python(code: str, **env: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **env})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_table_names_the_module_defining_each_command() -> None:
    out = _python(
        "from stackup.cli import main as M\n"
        "M._register()\n"
        "for name, command in sorted(M.cli.commands.items()):\n"
        "    print(name, command.callback.__module__)\n")
    from stackup.cli.main import COMMAND_MODULES

    defined = dict(line.split() for line in out.splitlines())
    assert defined == {name: f"stackup.cli.{module}" for name, module in COMMAND_MODULES.items()}


def test_a_command_imports_its_own_module_only() -> None:
    out = _python(
        "import sys\n"
        "from stackup.cli import main as M\n"
        "try:\n"
        "    M.main(['ps', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('stackup.cli.cmd_')))\n")
    last = out.strip().splitlines()[-1]
    assert "stackup.cli.cmd_ps" in last
    for other in ("cmd_config", "cmd_events", "cmd_lifecycle", "cmd_watch", "cmd_more"):
        assert f"stackup.cli.{other}'" not in last


def test_help_lists_every_command_and_unknown_names_still_fail_clearly() -> None:
    from stackup.cli.main import COMMAND_MODULES, cli

    shown = CliRunner().invoke(cli, ["--help"], obj=None)
    assert shown.exit_code == 0, shown.output
    for name in COMMAND_MODULES:
        assert f"\n  {name} " in shown.output
    wrong = CliRunner().invoke(cli, ["upp"])
    assert wrong.exit_code == 2
    assert "No such command 'upp'" in wrong.output


def test_completion_completes_command_names() -> None:
    out = _python("from stackup.cli.main import main\nmain()\n",
                  _STACKUP_COMPLETE="bash_complete", COMP_WORDS="stackup st", COMP_CWORD="1")
    assert {"plain,start", "plain,stats", "plain,stop"} <= set(out.split())
