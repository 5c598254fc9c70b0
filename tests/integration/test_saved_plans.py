"""Saved plans on the real engine (issue 8): `plan --out FILE` then `apply FILE` runs exactly the
reviewed plan; anything that moved in between (a container removed by hand, a variable, an
edited file) makes `apply` change nothing and exit 3; an edited, truncated or foreign plan file
is refused; no secret value appears in any output or in the file."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import docker
import pytest

from tests.integration.helpers import LOOP, STACKUP, ids, write

pytestmark = pytest.mark.usefixtures("docker_engine")  # every test runs stackup on the engine

STACK = f"""
    services:
      db:
        image: busybox:local
        command: ["sh", "-c", "{LOOP}"]
        env_file: [db.env]
        environment:
          DB_PASSWORD: ${{DB_PASSWORD:-unset}}
        secrets: [tok]
      api:
        image: busybox:local
        command: ["sh", "-c", "{LOOP}"]
        environment:
          VERSION: ${{VERSION:-v1}}
        depends_on: [db]
    secrets:
      tok:
        environment: TOKEN
"""

CANARIES = {"TOKEN": "canary-token-71f3", "DB_PASSWORD": "canary-pw-a9d2"}
ENV_FILE_CANARY = "canary-envfile-5c0e"


def stackup(folder: Path, project: str, *args: str, env: dict[str, str] | None = None,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([STACKUP, "-p", project, "-f", str(folder / "compose.yaml"), *args],
                          capture_output=True, text=True, timeout=120, input=stdin,
                          env={**os.environ, **CANARIES, **(env or {})}, cwd=folder)


@pytest.fixture()
def stack(tmp_path: Path) -> Path:
    write(tmp_path, STACK)
    (tmp_path / "db.env").write_text(f"FROM_FILE={ENV_FILE_CANARY}\n")
    return tmp_path


def no_canary(*texts: str) -> None:
    for text in texts:
        for canary in (*CANARIES.values(), ENV_FILE_CANARY):
            assert canary not in text, f"secret value {canary} shown:\n{text}"


def test_plan_out_then_apply_runs_exactly_the_plan(stack: Path, project_name: str,
                                                   client: docker.DockerClient) -> None:
    planned = stackup(stack, project_name, "plan", "--out", "p.json")
    assert planned.returncode == 0, planned.stderr
    saved = json.loads((stack / "p.json").read_text())
    assert saved["format"] == "stackup-plan" and saved["version"] == 1
    planned_ids = [op["id"] for op in saved["plan"]["operations"]]
    applied = stackup(stack, project_name, "--progress", "json", "apply", "p.json")
    assert applied.returncode == 0, applied.stderr
    events = [json.loads(line) for line in applied.stderr.splitlines() if line.startswith("{")]
    done = [e["id"] for e in events if e.get("phase") == "done"]
    assert sorted(done) == sorted(planned_ids)
    assert sorted(ids(client, project_name)) == [f"{project_name}-api-1", f"{project_name}-db-1"]
    assert stackup(stack, project_name, "plan", "--exit-code").returncode == 0
    no_canary(planned.stdout, planned.stderr, (stack / "p.json").read_text(), applied.stdout,
              applied.stderr)


def test_a_stale_plan_changes_nothing_and_exits_3(stack: Path, project_name: str,
                                                 client: docker.DockerClient) -> None:
    assert stackup(stack, project_name, "up", "-d").returncode == 0
    # 1. the engine moved: a container removed by hand
    assert stackup(stack, project_name, "plan", "--out", "p.json",
                   env={"VERSION": "v2"}).returncode == 0
    client.containers.get(f"{project_name}-db-1").remove(force=True)
    before = ids(client, project_name)
    stale = stackup(stack, project_name, "apply", "p.json", env={"VERSION": "v2"})
    assert stale.returncode == 3, stale.stderr
    assert f"container {project_name}-db-1 was removed since the plan was made" in stale.stderr
    assert ids(client, project_name) == before  # untouched
    assert stackup(stack, project_name, "up", "-d").returncode == 0
    # 2. a variable moved
    assert stackup(stack, project_name, "plan", "--out", "p.json",
                   env={"VERSION": "v2"}).returncode == 0
    before = ids(client, project_name)
    stale = stackup(stack, project_name, "apply", "p.json", env={"VERSION": "v3"})
    assert stale.returncode == 3
    assert 'service api: environment.VERSION: "v2" → "v3"' in stale.stderr
    assert ids(client, project_name) == before
    # a secret that moved is named, never shown
    stale = stackup(stack, project_name, "apply", "p.json",
                    env={"VERSION": "v2", "DB_PASSWORD": "canary-pw-other"})
    assert stale.returncode == 3 and "environment.DB_PASSWORD" in stale.stderr
    assert "canary-pw-other" not in stale.stderr
    no_canary(stale.stderr)
    # 3. a file moved
    (stack / "db.env").write_text("FROM_FILE=changed\n")
    stale = stackup(stack, project_name, "apply", "p.json", env={"VERSION": "v2"})
    assert stale.returncode == 3
    assert "service db: environment.FROM_FILE: (sensitive value changed)" in stale.stderr
    assert "sha256:" not in stale.stderr and '"changed"' not in stale.stderr
    assert ids(client, project_name) == before
    # and the same plan applies once things are back as they were
    (stack / "db.env").write_text(f"FROM_FILE={ENV_FILE_CANARY}\n")
    applied = stackup(stack, project_name, "apply", "-", env={"VERSION": "v2"},
                      stdin=(stack / "p.json").read_text())
    assert applied.returncode == 0, applied.stderr
    api = client.containers.get(f"{project_name}-api-1")
    assert "VERSION=v2" in api.attrs["Config"]["Env"]


def test_edited_truncated_or_foreign_plan_files_are_refused(stack: Path,
                                                            project_name: str) -> None:
    assert stackup(stack, project_name, "plan", "--out", "p.json").returncode == 0
    text = (stack / "p.json").read_text()
    cases = {
        "edited": text.replace('"not found"', '"not found (reviewed)"', 1),
        "truncated": text[: len(text) // 2],
        "version": json.dumps({**json.loads(text), "version": 99}),
        "foreign": json.dumps({"hello": "world"}),
    }
    expected = {"edited": "was changed after it was written", "truncated": "not complete JSON",
                "version": "a plan of version 99", "foreign": "is not a stackup plan"}
    for name, body in cases.items():
        (stack / f"{name}.json").write_text(body)
        result = stackup(stack, project_name, "apply", f"{name}.json")
        assert result.returncode == 1, (name, result.stderr)
        assert expected[name] in result.stderr, (name, result.stderr)
        assert "Traceback" not in result.stderr
    assert stackup(stack, project_name, "ps", "-a").stdout.count(project_name) == 0


def test_plan_exit_codes(stack: Path, project_name: str) -> None:
    assert stackup(stack, project_name, "plan", "--exit-code").returncode == 2
    assert stackup(stack, project_name, "plan", "--exit-code", "--bogus").returncode not in (0, 2)
    assert stackup(stack, project_name, "up", "-d").returncode == 0
    assert stackup(stack, project_name, "plan", "--exit-code").returncode == 0
    changed = stackup(stack, project_name, "plan", "--diff", env={"VERSION": "v9"})
    assert 'environment.VERSION: "v1" → "v9"' in changed.stdout
    pw = stackup(stack, project_name, "plan", "--diff", "--format", "json",
                 env={"DB_PASSWORD": "canary-pw-new"})
    assert "environment.DB_PASSWORD" in pw.stdout and "canary-pw-new" not in pw.stdout
    no_canary(changed.stdout, pw.stdout)
