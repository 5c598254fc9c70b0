"""`stackup config` views through the command (no engine): --hash, --images, --environment,
--variables, --no-interpolate, --no-normalize, --no-path-resolution."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

STACKUP = str(Path(sys.executable).parent / "stackup")
STACK = """\
services:
  web:
    image: busybox:${TAG:-latest}
    build: ./sub
    environment:
      A: ${NEEDED:?set it}
      C: $$literal
    volumes: ["./data:/data"]
  db:
    image: busybox:local
"""


def config(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("TAG", "NEEDED")}
    return subprocess.run([STACKUP, "config", *args], cwd=folder, capture_output=True,
                          text=True, timeout=60, env={**environ, **env})


def test_views(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(STACK)
    hashes = config(tmp_path, "--hash", "*", NEEDED="1").stdout.splitlines()
    assert [line.split()[0] for line in hashes] == ["db", "web"]
    assert all(len(line.split()[1]) == 64 for line in hashes)
    changed = config(tmp_path, "--hash", "web", NEEDED="2").stdout.split()
    assert changed[0] == "web" and changed[1] != hashes[1].split()[1]  # environment changed
    missing = config(tmp_path, "--hash", "nope", NEEDED="1")
    assert missing.returncode == 1 and "no such service: nope" in missing.stderr

    assert config(tmp_path, "--images", NEEDED="1", TAG="9").stdout == \
        "busybox:local\nbusybox:9\n"
    env = config(tmp_path, "--environment", NEEDED="1").stdout.splitlines()
    assert "NEEDED=1" in env and env == sorted(env)

    table = config(tmp_path, "--variables").stdout.splitlines()
    assert table[0].split() == ["NAME", "REQUIRED", "DEFAULT", "VALUE", "ALTERNATE", "VALUE"]
    assert [row.split() for row in table[1:]] == [["NEEDED", "true"], ["TAG", "false", "latest"]]
    as_json = json.loads(config(tmp_path, "--variables", "--format", "json").stdout)
    assert as_json["TAG"] == {"Name": "TAG", "DefaultValue": "latest", "PresenceValue": "",
                              "Required": False}

    raw = config(tmp_path, "--no-interpolate")  # NEEDED unset: no error, nothing expanded
    assert raw.returncode == 0, raw.stderr
    assert "image: busybox:${TAG:-latest}" in raw.stdout and "A: ${NEEDED:?set it}" in raw.stdout
    assert "C: $$literal" in raw.stdout

    merged = config(tmp_path, "--no-normalize", NEEDED="1").stdout
    assert "build: ./sub" in merged and "- ./data:/data" in merged and "networks" not in merged

    relative = config(tmp_path, "--no-path-resolution", NEEDED="1").stdout
    assert "context: ./sub" in relative and "source: ./data" in relative
    assert str(tmp_path) not in relative
