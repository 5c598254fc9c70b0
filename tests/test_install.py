"""Install like a Python tool: the wheel builds, installs into a fresh virtual environment, and
both `stackup version` and `docker stackup version` (the docker CLI plugin that
`stackup docker-plugin install` links) answer from it. Slow: it builds and installs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stackup.core.version import __version__

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.slow, pytest.mark.engine]  # engine: the docker CLI comes with it


def _run(*args: str | Path, env: dict[str, str] | None = None,
         cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600,
                          env=env, cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_the_wheel_installs_and_both_commands_answer(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy: building leaves build/ and *.egg-info behind
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "__pycache__", "*.egg-info", "build", "dist", ".mypy_cache",
        ".pytest_cache", ".import_linter_cache"))
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp_path / "dist",
         source)
    wheels = list((tmp_path / "dist").glob("stackup-*.whl"))
    assert len(wheels) == 1, wheels
    _run(sys.executable, "-m", "venv", tmp_path / "fresh")
    _run(tmp_path / "fresh/bin/python", "-m", "pip", "install", "-q", wheels[0])
    env = {**os.environ, "DOCKER_CONFIG": str(tmp_path / "docker-config")}
    env.pop("VIRTUAL_ENV", None)
    version = _run(tmp_path / "fresh/bin/stackup", "version", env=env, cwd=tmp_path)
    assert version.stdout == f"stackup version {__version__}\n"
    installed = _run(tmp_path / "fresh/bin/stackup", "docker-plugin", "install", env=env,
                     cwd=tmp_path)
    link = tmp_path / "docker-config/cli-plugins/docker-stackup"
    assert link.resolve() == (tmp_path / "fresh/bin/docker-stackup").resolve(), installed.stdout
    docker = shutil.which("docker")
    if docker is None:  # the test command installs the engine (and its CLI) first
        pytest.fail("no docker CLI on PATH")
    plugin = _run(docker, "stackup", "version", env=env, cwd=tmp_path)
    assert plugin.stdout == f"stackup version {__version__}\n"
    listed = _run(docker, "--help", env=env, cwd=tmp_path)
    assert "stackup*" in listed.stdout
    _run(tmp_path / "fresh/bin/stackup", "docker-plugin", "uninstall", env=env, cwd=tmp_path)
    assert not link.exists() and not link.is_symlink()
