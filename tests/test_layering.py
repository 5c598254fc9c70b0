"""The layering contract (pyproject's [tool.importlinter]) holds: the pure core imports neither
docker nor anyio nor click, only engine/docker/ imports docker, only cli/ imports click."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_only_the_adapter_names_docker_in_source() -> None:
    offenders = []
    for path in (ROOT / "stackup").rglob("*.py"):
        if "docker" in path.parts and path.parent.name != "engine" and path.parts[-3] == "engine":
            continue
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith(("import docker", "from docker")):
                offenders.append(str(path))
    assert offenders == []
