"""Help that guides: commands grouped with one sentence each, `up --help` with its common flags
first, and a global option typed after the command answered with where to put it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from stackup.cli.help import SECTIONS, SUMMARIES
from stackup.cli.main import COMMANDS, cli

STACKUP = str(Path(sys.executable).parent / "stackup")


def test_commands_are_grouped_each_with_a_sentence_that_fits() -> None:
    shown = CliRunner().invoke(cli, ["--help"], terminal_width=80)
    assert shown.exit_code == 0, shown.output
    text = shown.output
    headings = [heading for heading, _ in SECTIONS] + ["Other"]
    assert [text.index(f"\n{h}:\n") for h in headings] == sorted(
        text.index(f"\n{h}:\n") for h in headings)
    assert text.index("\n  up ") < text.index("\n  plan ") < text.index("\n  exec ")
    for name in COMMANDS:
        assert SUMMARIES[name].endswith("."), name
        line = next(line for line in text.splitlines() if line.startswith(f"  {name} "))
        assert len(line) <= 80 and line.rstrip().endswith(SUMMARIES[name]), line
        assert text.count(f"\n  {name} ") == 1
    assert "..." not in text.split("Other:")[0].split("The stack:")[1]
    assert text.rstrip().endswith("Run 'stackup COMMAND --help' for more on a command.")


def test_up_help_shows_the_common_flags_first() -> None:
    shown = CliRunner().invoke(cli, ["up", "--help"], terminal_width=100)
    assert shown.exit_code == 0, shown.output
    text = shown.output
    assert text.index("Common options:") < text.index("-d, --detach") \
        < text.index("Which containers:") < text.index("--no-deps") \
        < text.index("Attached output (without -d):") < text.index("--no-log-prefix")
    assert text.count("--detach") == 1 and "[SERVICES]..." not in text.split("Other options:")[-1]


def test_a_global_option_after_the_command_says_where_it_goes(tmp_path: Path) -> None:
    done = subprocess.run([STACKUP, "up", "--progress", "quiet"], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert done.returncode == 64
    assert "No such option '--progress'" in done.stderr
    assert ("hint: --progress is a global option: put it before the command: "
            "stackup --progress quiet up") in done.stderr
    flag = subprocess.run([STACKUP, "ps", "--dry-run"], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert flag.returncode == 64
    assert "put it before the command: stackup --dry-run ps" in flag.stderr
    other = subprocess.run([STACKUP, "up", "--no-such-flag"], capture_output=True, text=True,
                           timeout=60, cwd=tmp_path)
    assert other.returncode == 64 and "hint:" not in other.stderr
