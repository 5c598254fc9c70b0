"""Shell completion through the command (no engine): scripts for bash, zsh and fish; commands,
flags and service names from the stack file found the usual way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

STACKUP = str(Path(sys.executable).parent / "stackup")


def complete(folder: Path, shell: str, words: str, cword: str) -> list[str]:
    env = {**os.environ, "_STACKUP_COMPLETE": f"{shell}_complete", "COMP_WORDS": words,
           "COMP_CWORD": cword}
    done = subprocess.run([STACKUP], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line]


@pytest.mark.parametrize("shell,marker", [("bash", "complete -o nosort -F"),
                                          ("zsh", "#compdef stackup"),
                                          ("fish", "complete --no-files --command stackup")])
def test_scripts(shell: str, marker: str, tmp_path: Path) -> None:
    done = subprocess.run([STACKUP, "completion", shell], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and marker in done.stdout and "_STACKUP_COMPLETE" in done.stdout


def test_commands_flags_and_services(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web: {image: busybox}\n  worker: {image: busybox}\n"
        "  debug: {image: busybox, profiles: [dev]}\n")
    sub = tmp_path / "deep"
    sub.mkdir()
    assert "plain,scale" in complete(sub, "bash", "stackup sc", "1")
    assert complete(sub, "bash", "stackup ps --serv", "2") == ["plain,--services"]
    assert complete(sub, "bash", "stackup logs w", "2") == ["plain,web", "plain,worker"]
    assert complete(sub, "bash", "stackup logs ", "2") == [
        "plain,debug", "plain,web", "plain,worker"]
    assert complete(sub, "bash", "stackup scale we", "2") == ["plain,web="]
    assert complete(sub, "bash", "stackup cp wo", "2") == ["plain,worker:"]
    zsh = complete(sub, "zsh", "stackup exec we", "2")
    assert zsh[:2] == ["plain", "web"]
    # -f elsewhere: the services of that file; an unreadable file completes nothing
    other = tmp_path / "other.yaml"
    other.write_text("services:\n  api: {image: busybox}\n")
    assert complete(Path("/"), "bash", f"stackup -f {other} logs ", "4") == ["plain,api"]
    assert complete(Path("/"), "bash", "stackup -f /nonexistent.yaml logs ", "4") == []
