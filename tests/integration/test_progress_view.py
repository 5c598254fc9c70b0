"""The progress view as a person sees it: `stackup up -d` of ten services run in a real
terminal (tmux), its screen captured while it runs and after. One line per resource under a
`[+] Running N/M` header, Compose's words, a replacement's internal steps folded into its line
with the cause that explains it, and one summary line at the end."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.integration.helpers import STACKUP, write

pytestmark = pytest.mark.engine

TEN = "services:\n" + "".join(f"""
  svc{i}:
    image: busybox:local
    command: ["sleep", "3600"]
    stop_grace_period: 1s
    environment: {{VERSION: "${{VERSION:-1}}"}}""" for i in range(10)) + "\n"


class Terminal:
    """A tmux session 100 columns wide: type a command line, read the screen."""

    def __init__(self, folder: Path) -> None:
        self.name = f"stk-{uuid.uuid4().hex[:8]}"
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "100", "-y", "40",
                        "-c", str(folder), "env -u NO_COLOR TERM=xterm-256color bash --norc"],
                       check=True, env={**os.environ, "PS1": "$ "})

    def type(self, line: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, line, "Enter"], check=True)

    def screen(self) -> list[str]:
        shown = subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name],
                               capture_output=True, text=True, check=True).stdout
        return [line.rstrip() for line in shown.splitlines()]

    def wait_for(self, text: str, timeout: float = 90) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.screen()
            if any(text in line for line in lines):
                return lines
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never showed:\n" + "\n".join(self.screen()))

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def _view(lines: list[str]) -> list[str]:
    """The view's lines: from its last header to the command's exit line, blank lines aside."""
    start = max(i for i, line in enumerate(lines) if line.startswith("[+] Running"))
    shown = [line for line in lines[start:] if line]
    ends = [i for i, line in enumerate(shown) if line.startswith("EXIT=")]
    return shown[:ends[0] + 1] if ends else shown


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_up_of_ten_services_as_a_person_sees_it(tmp_path: Path, project_name: str) -> None:
    write(tmp_path, TEN)
    term = Terminal(tmp_path)
    try:
        command = f"{STACKUP} -p {project_name} up -d; echo EXIT=$?"
        term.type(f"clear; {command}; echo MARK$((40+1))")  # the typed line shows no MARK41
        during = _view(term.wait_for("[+] Running"))
        assert during[0].startswith("[+] Running ") and during[0].endswith("/11")
        done = term.wait_for("MARK41")
        view = _view(done)
        assert view[0] == "[+] Running 11/11"
        rows = view[1:12]
        assert rows[0].split()[:4] == ["✔", "Network", f"{project_name}_default", "Created"]
        assert sorted(r.split()[2] for r in rows[1:]) == [
            f"{project_name}-svc{i}-1" for i in range(10)]
        assert all(r.split()[:2] == ["✔", "Container"] and r.split()[3] == "Started"
                   for r in rows[1:])
        assert view[12].startswith("up: 10 started, 1 created in ")
        assert view[13] == "EXIT=0"
        assert "not found" not in "\n".join(view)  # no cause where nothing needs explaining

        term.type(f"clear; VERSION=2 {command}; echo MARK$((40+2))")
        replaced = _view(term.wait_for("MARK42"))
        assert replaced[0] == "[+] Running 10/10"
        assert len(replaced) == 1 + 10 + 2, "\n".join(replaced)  # a line per container, summary, EXIT
        for row in replaced[1:11]:
            assert row.split()[:2] == ["✔", "Container"] and row.split()[3] == "Recreated"
            assert row.endswith("environment.VERSION changed")
        assert not any("_" + project_name in line for line in replaced)  # aside names folded
        assert replaced[11].startswith("up: 10 recreated in ")
    finally:
        term.close()
        subprocess.run([STACKUP, "-p", project_name, "down"], capture_output=True, timeout=120)
