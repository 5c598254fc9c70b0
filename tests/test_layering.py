"""The layering contract (pyproject's [tool.importlinter]) holds: cli > app > run | testing >
adapters > ports > reconcile | swarm > loader > core; only ``app.wiring`` imports the adapters;
only adapters/docker/ imports docker, only cli/ imports click; nothing imports the CLI's root
module but the entry point."""

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
        if path.relative_to(ROOT / "stackup").parts[:2] == ("adapters", "docker"):
            continue
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith(("import docker", "from docker")):
                offenders.append(str(path))
    assert offenders == []


def test_nothing_imports_the_cli_root_module() -> None:
    """Commands share ``cli.context``; ``cli.main`` (the root group) is imported only by the
    entry points: ``cli.entry`` (``stackup``) and ``cli.plugin`` (``docker-stackup``)."""
    importers = [str(path.relative_to(ROOT)) for path in (ROOT / "stackup").rglob("*.py")
                 if path.name not in ("main.py", "entry.py", "plugin.py")
                 or path.parent.name != "cli"
                 if any(line.strip().startswith(("from stackup.cli.main import",
                                                 "import stackup.cli.main",
                                                 "from stackup.cli import main"))
                        for line in path.read_text().splitlines())]
    assert importers == []
    entry = (ROOT / "pyproject.toml").read_text()
    assert 'stackup = "stackup.cli.entry:run"' in entry
    assert 'docker-stackup = "stackup.cli.plugin:main"' in entry


def test_no_command_tests_which_target_it_runs() -> None:
    """The deploy target is a seam (``cli.targets``): commands call ``g.deploy_target()``."""
    import re

    branching = re.compile(r"""\bg\.target\b|==\s*["'](swarm|engine)["']""")
    offenders = [f"{path.relative_to(ROOT)}:{number}"
                 for path in (ROOT / "stackup").rglob("*.py")
                 if path.relative_to(ROOT / "stackup").parts[0] != "swarm"
                 and path.name not in ("context.py", "main.py")
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                 if branching.search(line) and not line.lstrip().startswith(("#", '"', "``"))]
    assert offenders == []
