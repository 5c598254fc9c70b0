"""The JSON that pipelines read, from real runs on the real engine, against the schemas that
`stackup schema` prints: `plan --format json`, `plan --out`, and every line of
`--progress json` for `up`, `apply` and `down -v`."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.integration.helpers import LOOP, STACKUP, ids, run, sigint_as_in_a_terminal, write
from tests.test_schemas import assert_valid, policy_allows

pytestmark = pytest.mark.engine


def progress_lines(stderr: str) -> list[dict[str, Any]]:
    """Every line of stderr is one JSON object of the progress schema."""
    records = [json.loads(line) for line in stderr.splitlines()]
    for record in records:
        assert_valid("progress", record)
    return records


def test_plan_and_progress_json_of_real_runs(tmp_path: Path, project_name: str,
                                             client: docker.DockerClient,
                                             history: None) -> None:
    context = tmp_path / "app"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM busybox:local\nRUN echo built > /built\n")
    write(tmp_path, f"""
        services:
          db:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            environment: {{VERSION: "1"}}
            volumes: ["data:/data"]
          app:
            build: ./app
            command: ["sh", "-c", "{LOOP}"]
            depends_on: [db]
        volumes:
          data: {{}}
    """)
    try:
        plan = json.loads(run(tmp_path, project_name, "plan", "--format", "json").stdout)
        assert_valid("plan", plan)
        assert plan["summary"]["create"] == 2 and plan["summary"]["build"] == 1
        assert plan["summary"]["volumes"] == {"create": 1, "remove": 0}
        assert {k: v["action"] for k, v in plan["services"].items()} == {
            "app": "create", "db": "create"}

        up = run(tmp_path, project_name, "--progress", "json", "up", "-d")
        records = progress_lines(up.stderr)
        assert records[-1]["summary"] is True and records[-1]["ok"] is True
        done = {(r["action"], r["name"]) for r in records if r.get("phase") == "done"}
        assert ("build_image", f"{project_name}-app") in done
        assert ("create_volume", f"{project_name}_data") in done

        (tmp_path / "compose.yaml").write_text(
            (tmp_path / "compose.yaml").read_text().replace('"1"', '"2"'))
        saved = tmp_path / "plan.json"
        changed = json.loads(run(tmp_path, project_name, "plan", "--format", "json",
                                 "--out", str(saved)).stdout)
        assert_valid("plan", changed)
        assert changed["summary"]["recreate"] == 1
        assert changed["services"]["db"]["action"] == "recreate"
        assert_valid("saved-plan", json.loads(saved.read_text()))
        assert policy_allows(json.loads(saved.read_text()))  # the README's check passes it
        applied = run(tmp_path, project_name, "--progress", "json", "apply", str(saved))
        assert progress_lines(applied.stderr)[-1]["ok"] is True
        again = run(tmp_path, project_name, "--progress", "json", "apply", str(saved))
        assert progress_lines(again.stderr)[-1]["already_applied"] >= 1
    finally:
        down = run(tmp_path, project_name, "--progress", "json", "down", "-v", "-t", "1",
                   check=False)
    removed = progress_lines(down.stderr)
    assert ("remove_volume", f"{project_name}_data") in {
        (r.get("action"), r.get("name")) for r in removed if r.get("phase") == "done"}
    assert not client.api.volumes(filters={"name": f"{project_name}_data"})["Volumes"]


def test_progress_json_of_an_interrupted_run(tmp_path: Path, project_name: str,
                                             client: docker.DockerClient) -> None:
    """Ctrl-C part way: the events, the stop request and the interrupted summary, every line
    of the schema."""
    services = "".join(f"""
          s{i}:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]""" for i in range(12))
    write(tmp_path, "services:" + services + "\n")
    process = subprocess.Popen([STACKUP, "-p", project_name, "--parallel", "1", "--progress",
                                "json", "-f", str(tmp_path / "compose.yaml"), "up", "-d"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=sigint_as_in_a_terminal)
    deadline = time.monotonic() + 30
    while not ids(client, project_name) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    # click writes an empty line to stderr on Ctrl-C (its own KeyboardInterrupt handling)
    records = progress_lines("\n".join(line for line in stderr.splitlines() if line))
    assert records[-1]["summary"] is True and records[-1]["interrupted"] == "SIGINT"
    stops = [r for r in records if r.get("phase") in ("stopping", "abandoning")]
    assert all(r["signal"] == "SIGINT" for r in stops)
