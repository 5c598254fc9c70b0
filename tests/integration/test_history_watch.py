"""Revisions, rollback and drift watch against the real engine."""

from __future__ import annotations

import json
import os
import queue
import secrets
import signal
import subprocess
import threading
import time
from pathlib import Path

import docker
import pytest

from stackup.app import revisions as R
from stackup.adapters.docker import DockerEngine
from tests.integration.helpers import LOOP, STACKUP, write

STACK = f"""
services:
  web:
    image: busybox:local
    command: ["sh", "-c", "{LOOP}"]
    stop_grace_period: 1s
    environment: {{VERSION: "${{VERSION}}"}}
    secrets: [tok]
secrets:
  tok: {{environment: TOK}}
"""


def stk(folder: Path, project: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([STACKUP, "-p", project, "--progress", "plain", "-f",
                           str(folder / "compose.yaml"), *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **env})


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def revisions(folder: Path, project: str) -> list[dict]:
    return json.loads(ok(stk(folder, project, "history", "--format", "json")).stdout)["revisions"]


def env_of(client: docker.DockerClient, name: str) -> list[str]:
    return client.containers.get(name).attrs["Config"]["Env"]


def test_history_rollback_and_no_secret_recorded(tmp_path: Path, project_name: str,
                                                 client: docker.DockerClient,
                                                 history: None) -> None:
    canary = "canary-" + secrets.token_hex(8)
    write(tmp_path, STACK)
    ok(stk(tmp_path, project_name, "up", "-d", VERSION="1", TOK=canary))
    write(tmp_path, STACK.replace("secrets:\n  tok:", f"""  extra:
    image: busybox:local
    command: ["sh", "-c", "{LOOP}"]
secrets:
  tok:"""))
    ok(stk(tmp_path, project_name, "up", "-d", VERSION="2", TOK=canary))
    assert client.containers.get(f"{project_name}-extra-1").status == "running"
    found = revisions(tmp_path, project_name)
    assert [(r["number"], r["outcome"], r["command"]) for r in found] == [(1, "ok", "up"),
                                                                          (2, "ok", "up")]
    assert [r["model"]["services"]["web"]["environment"]["VERSION"] for r in found] == ["1", "2"]
    assert found[0]["secrets"][0]["source"] == "environment"

    rolled = ok(stk(tmp_path, project_name, "rollback", TOK=canary))  # VERSION unset now
    assert "revision 1" in rolled.stdout and "environment.VERSION changed" in rolled.stdout
    assert "VERSION=1" in env_of(client, f"{project_name}-web-1")
    assert not client.containers.list(all=True, filters={"name": f"{project_name}-extra-1"})
    found = revisions(tmp_path, project_name)
    assert [(r["number"], r["command"]) for r in found][-1] == (3, "rollback to 1")

    volumes = client.volumes.list(filters={"label": f"{R.PROJECT}={project_name}"})
    assert sorted(v.name for v in volumes) == [R.volume_name(project_name, n) for n in (1, 2, 3)]
    for volume in volumes:
        inspected = subprocess.run(["docker", "volume", "inspect", volume.name],
                                   capture_output=True, text=True, check=True).stdout
        assert canary not in inspected and "io.stackup.project" not in inspected

    ok(stk(tmp_path, project_name, "down", TOK="x"))
    assert len(revisions(tmp_path, project_name)) == 3  # history outlives down (not down -v)

    gone = stk(tmp_path, project_name, "rollback", "2", TOK="something else")
    assert gone.returncode == 1
    assert "secret 'tok' is no longer available" in gone.stderr and canary not in gone.stderr
    assert not client.containers.list(all=True, filters={"name": project_name})


def test_up_rollback_on_failure(tmp_path: Path, project_name: str,
                                client: docker.DockerClient, history: None) -> None:
    write(tmp_path, STACK)
    ok(stk(tmp_path, project_name, "up", "-d", "--wait", VERSION="1", TOK="t"))
    (tmp_path / "compose.yaml").write_text(STACK.replace(
        "    stop_grace_period: 1s\n",
        "    stop_grace_period: 1s\n    healthcheck: {test: [CMD, 'false'], interval: 0.2s, "
        "retries: 1}\n"))
    failed = stk(tmp_path, project_name, "up", "-d", "--wait", "--wait-timeout", "5",
                 "--rollback-on-failure", VERSION="2", TOK="t")
    assert failed.returncode == 1, failed.stderr
    assert "rolled back to revision 1" in failed.stderr
    assert "VERSION=1" in env_of(client, f"{project_name}-web-1")
    assert client.containers.get(f"{project_name}-web-1").status == "running"
    found = revisions(tmp_path, project_name)
    assert [(r["outcome"], r["command"]) for r in found] == [
        ("ok", "up"), ("failed", "up"), ("ok", "rollback to 1 (after revision 2 failed)")]
    assert "web" in found[1]["reason"]


def _lines(stream: object, into: queue.Queue[dict]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(json.loads(line))


def _until(lines: queue.Queue[dict], seen: list[dict], test: object, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            item = lines.get(timeout=0.1)
        except queue.Empty:
            continue
        seen.append(item)
        if test(item):  # type: ignore[operator]
            return item
    raise AssertionError(f"not seen in {timeout} s; saw: {seen}")


def test_watch_heals_rm_f_and_stops_cleanly(tmp_path: Path, project_name: str,
                                              client: docker.DockerClient,
                                              history: None) -> None:
    (tmp_path / "compose.yaml").write_text(STACK.replace("secrets:\n  tok:", """  job:
    image: busybox:local
    command: ["true"]
    restart: "no"
secrets:
  tok:"""))
    ok(stk(tmp_path, project_name, "up", "-d", VERSION="1", TOK="t"))
    watch = subprocess.Popen([STACKUP, "-p", project_name, "-f", str(tmp_path / "compose.yaml"),
                              "drift", "--heal", "--format", "json", "--interval", "1"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "VERSION": "1", "TOK": "t"})
    lines: queue.Queue[dict] = queue.Queue()
    seen: list[dict] = []
    threading.Thread(target=_lines, args=(watch.stdout, lines), daemon=True).start()
    try:
        job = f"{project_name}-job-1"
        # the first check has run: the finished one-shot is reported, not started again
        _until(lines, seen, lambda e: e.get("subject") == job, 30)
        web = client.containers.get(f"{project_name}-web-1")
        started = time.monotonic()
        web.remove(force=True)
        while True:
            found = client.containers.list(filters={"name": f"{project_name}-web-1",
                                                    "status": "running"})
            if found and found[0].id != web.id:
                break
            # about 2 s on an idle machine (docs: watch); bounded loosely, as speed is the
            # benchmark's to measure, not a test's
            assert time.monotonic() - started < 30, seen
            time.sleep(0.05)
        _until(lines, seen, lambda e: e["event"] == "healed", 5)
        time.sleep(2.5)  # two more periodic checks
        while not lines.empty():
            seen.append(lines.get())
        stopping = time.monotonic()
        watch.send_signal(signal.SIGTERM)
        watch.wait(timeout=10)
        stopped_in = time.monotonic() - stopping
    finally:
        if watch.poll() is None:
            watch.kill()
    assert stopped_in < 3.0 and watch.returncode == 0, (stopped_in, watch.stderr.read())
    drifts = [(e["kind"], e["subject"], e["heal"]) for e in seen if e["event"] == "drift"]
    assert drifts.count(("removed", f"{project_name}-web-1", True)) == 1, seen
    assert drifts.count(("not-running", job, False)) == 1, seen  # reported once
    healed = [e for e in seen if e["event"] == "healed"]
    assert [e["services"] for e in healed] == [["web"]], seen
    assert client.containers.get(job).status == "exited"


def test_watch_signal_during_a_heal_ends_it_at_once(tmp_path: Path, project_name: str,
                                                    client: docker.DockerClient,
                                                    history: None) -> None:
    slow = """services:
  slow:
    image: busybox:local
    command: ["sh", "-c", "while :; do sleep 0.2; done"]  # ignores SIGTERM
    stop_grace_period: 6s
    environment: {V: "%s"}
"""
    write(tmp_path, slow % "1")
    ok(stk(tmp_path, project_name, "up", "-d"))
    watch = subprocess.Popen([STACKUP, "-p", project_name, "-f", str(tmp_path / "compose.yaml"),
                              "drift", "--heal", "--format", "json", "--interval", "0.5"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[dict] = queue.Queue()
    seen: list[dict] = []
    threading.Thread(target=_lines, args=(watch.stdout, lines), daemon=True).start()
    try:
        _until(lines, seen, lambda e: e["event"] == "watching", 30)
        write(tmp_path, slow % "2")  # the heal recreates: a 6 s stop
        drift = _until(lines, seen, lambda e: e["event"] == "drift", 10)
        assert drift["kind"] == "differs" and "environment.V changed" in drift["reason"]
        time.sleep(0.5)
        stopping = time.monotonic()
        watch.send_signal(signal.SIGINT)
        watch.wait(timeout=10)
        stopped_in = time.monotonic() - stopping
    finally:
        if watch.poll() is None:
            watch.kill()
    assert stopped_in < 1.0 and watch.returncode == 130, (stopped_in, watch.stderr.read())
    _until(lines, seen, lambda e: e["event"] == "stopped", 2)
    assert [e["event"] for e in seen][-2:] == ["abandoned", "stopped"], seen


def test_a_large_record_round_trips_through_the_engine(docker_engine: DockerEngine,
                                                      project_name: str, history: None) -> None:
    model = json.dumps({"name": project_name, "services": {
        f"s{i}": {"image": "busybox:local", "environment": {"V": secrets.token_hex(400)}}
        for i in range(300)}})
    revision = R.Revision(project_name, 1, "2024-01-01T00:00:00Z", "me@here", "up", (), "ok",
                          "", model, token="mine")
    labels = R.to_labels(revision)
    assert int(labels[R.MODEL_PARTS]) >= 3  # several labels of at most R.CHUNK characters
    assert docker_engine.create_revision(project_name, 1, labels)[R.TOKEN] == "mine"
    theirs = dict(labels, **{R.TOKEN: "theirs"})
    assert docker_engine.create_revision(project_name, 1, theirs)[R.TOKEN] == "mine"  # get
    [stored] = docker_engine.list_revisions(project_name)
    assert R.from_labels(stored) == revision


def test_a_revision_records_the_git_commit_of_the_stack_files(
        tmp_path: Path, project_name: str, history: None) -> None:
    """`up` works out the record's source (git) while its plan runs: the commit is the one
    checked out, and "dirty" says whether the stack files' folder has changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(tmp_path), *args], check=True,
                              capture_output=True, text=True).stdout.strip()

    write(tmp_path, STACK)
    git("init", "-q")
    git("-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-q",
        "--allow-empty", "-m", "empty")
    git("add", "compose.yaml")
    git("-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-q", "-m", "stack")
    head = git("rev-parse", "HEAD")
    ok(stk(tmp_path, project_name, "up", "-d", VERSION="v1", TOK="t"))
    ok(stk(tmp_path, project_name, "up", "-d", VERSION="v2", TOK="t"))  # a change: it runs
    (tmp_path / "notes.txt").write_text("uncommitted\n")
    ok(stk(tmp_path, project_name, "up", "-d", VERSION="v3", TOK="t"))
    sources = [(r["source"]["git_commit"], r["source"]["git_dirty"])
               for r in revisions(tmp_path, project_name)]
    assert sources == [(head, False), (head, False), (head, True)], sources


# --- honest heals: every kind of drift, then `drift --heal --once` ---------------------------

WORKER = """
services:
  worker:
    image: busybox:local
    command: ["sh", "-c", "while :; do sleep 0.2; done"]  # no trap: docker stop ends in SIGKILL
    stop_grace_period: 1s
    environment: {VERSION: "1"}
"""


def listed_state(client: docker.DockerClient, name: str) -> str | None:
    """The container's state as the engine's container list shows it (what stackup observes;
    it can lag behind inspect for a moment after a container dies)."""
    found = client.api.containers(all=True, filters={"name": f"^/{name}$"})
    return found[0]["State"] if found else None


def until(test: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not test():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def once(folder: Path, project: str, *args: str, **env: str) -> tuple[int, list[dict]]:
    """`drift --heal --once --format json`: its exit status and its events."""
    result = stk(folder, project, "drift", "--heal", "--once", "--format", "json", *args,
                 **env)
    assert not result.stderr.strip(), result.stderr
    return result.returncode, [json.loads(line) for line in result.stdout.splitlines()]


def recreated_by_another_tool(client: docker.DockerClient, name: str) -> None:
    """Replace the container by one another tool made from other settings: its labels say
    so (VERSION=2 in the config label, the config-hash label of that config)."""
    from stackup.core import labels as L
    from stackup.core.hashing import canonical_json

    old = client.containers.get(name)
    labels = dict(old.labels)
    config = json.loads(labels[L.CONFIG])
    config["environment"]["VERSION"] = "2"
    labels[L.CONFIG] = canonical_json(config)
    labels[L.CONFIG_HASH] = R.sha256(labels[L.CONFIG])
    network = next(iter(old.attrs["NetworkSettings"]["Networks"]))
    old.remove(force=True)
    client.containers.run("busybox:local", ["sh", "-c", "while :; do sleep 0.2; done"],
                          name=name, labels=labels, environment={"VERSION": "2"},
                          network=network, detach=True)


DAMAGE = {
    "docker stop": (lambda c, name: subprocess.run(["docker", "stop", name], check=True,
                                                   capture_output=True),
                    ["start"]),
    "docker kill": (lambda c, name: subprocess.run(["docker", "kill", name], check=True,
                                                   capture_output=True),
                    ["start"]),
    "docker rm -f": (lambda c, name: subprocess.run(["docker", "rm", "-f", name], check=True,
                                                    capture_output=True),
                     ["create", "start"]),
    "docker network disconnect": (
        lambda c, name: subprocess.run(["docker", "network", "disconnect",
                                        f"{name.rsplit('-', 2)[0]}_default", name],
                                       check=True, capture_output=True),
        ["create", "stop", "remove", "rename", "start"]),
    "a config-hash label another tool wrote": (recreated_by_another_tool,
                                               ["create", "stop", "remove", "rename", "start"]),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_watch_heal_once_converges_every_drift_and_names_what_it_ran(
        tmp_path: Path, project_name: str, client: docker.DockerClient, history: None,
        damage: str) -> None:
    write(tmp_path, WORKER)
    ok(stk(tmp_path, project_name, "up", "-d"))
    name = f"{project_name}-worker-1"
    before = client.containers.get(name)
    code, events = once(tmp_path, project_name)
    assert code == 0 and [e["event"] for e in events] == ["watching", "done"], events
    do, verbs = DAMAGE[damage]
    do(client, name)
    if damage in ("docker stop", "docker kill"):
        until(lambda: listed_state(client, name) == "exited")
    code, events = once(tmp_path, project_name)
    healed = [e for e in events if e["event"] == "healed"]
    assert code == 0 and len(healed) == 1, events
    ran = healed[0]["operations"]
    assert sorted({op.split()[0] for op in ran}) == sorted(verbs), events
    assert all(op.endswith(name) or name in op for op in ran), events
    assert healed[0]["services"] == ["worker"] and healed[0]["toward"] == "files"
    assert events[-1] == {**events[-1], "event": "done", "left": []}
    after = client.containers.get(name)
    assert after.status == "running"
    assert "VERSION=1" in after.attrs["Config"]["Env"]
    assert after.labels["io.stackup.config-hash"] == before.labels["io.stackup.config-hash"]
    assert f"{project_name}_default" in after.attrs["NetworkSettings"]["Networks"]
    assert not [e for e in events if e["event"] in ("heal_failed", "not_healed")], events
    # converged: a second look finds nothing
    code, events = once(tmp_path, project_name)
    assert code == 0 and [e["event"] for e in events] == ["watching", "done"], events


def test_docker_stop_while_watch_runs_is_healed(tmp_path: Path, project_name: str,
                                                client: docker.DockerClient,
                                                history: None) -> None:
    """The sequence of the bug report: `docker stop` (a process that exits 0 on SIGTERM, no
    restart policy) → `drift --heal` → the container runs again, and `healed` names the
    start it ran."""
    write(tmp_path, STACK)
    ok(stk(tmp_path, project_name, "up", "-d", VERSION="1", TOK="t"))
    watch = subprocess.Popen([STACKUP, "-p", project_name, "-f", str(tmp_path / "compose.yaml"),
                              "drift", "--heal", "--format", "json", "--interval", "30"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "VERSION": "1", "TOK": "t"})
    lines: queue.Queue[dict] = queue.Queue()
    seen: list[dict] = []
    threading.Thread(target=_lines, args=(watch.stdout, lines), daemon=True).start()
    name = f"{project_name}-web-1"
    try:
        _until(lines, seen, lambda e: e["event"] == "watching", 60)
        time.sleep(2)  # the first check has run (nothing to report)
        subprocess.run(["docker", "stop", name], check=True, capture_output=True)
        assert client.containers.get(name).attrs["State"]["ExitCode"] == 0
        healed = _until(lines, seen, lambda e: e["event"] in ("healed", "heal_failed",
                                                              "not_healed"), 90)
        watch.send_signal(signal.SIGTERM)
        watch.wait(timeout=30)
    finally:
        if watch.poll() is None:
            watch.kill()
    assert healed["event"] == "healed", seen
    assert healed["operations"] == [f"start {name}"], seen
    drift = [e for e in seen if e["event"] == "drift"]
    # "stopped" once docker stop's own event has come; on a slow engine it can come after
    # watch reported the death by SIGTERM ("killed by hand (signal 15)")
    assert [(e["subject"], e["heal"]) for e in drift] == [(name, True)], seen
    assert drift[0]["kind"] in ("stopped", "killed"), seen
    assert client.containers.get(name).status == "running"


def test_rollback_is_the_desired_state_until_the_next_up(tmp_path: Path, project_name: str,
                                                         client: docker.DockerClient,
                                                         history: None) -> None:
    write(tmp_path, STACK)
    ok(stk(tmp_path, project_name, "up", "-d", VERSION="1", TOK="t"))
    ok(stk(tmp_path, project_name, "up", "-d", VERSION="2", TOK="t"))
    name = f"{project_name}-web-1"
    rolled = ok(stk(tmp_path, project_name, "rollback", "1", VERSION="2", TOK="t"))
    assert 'environment.VERSION: "2" → "1"' in rolled.stdout, rolled.stdout
    assert "the stack files now differ from what runs (revision 1)" in rolled.stderr
    assert "  web: environment.VERSION\n" in rolled.stderr, rolled.stderr
    assert "VERSION=1" in env_of(client, name)

    # the watcher keeps revision 1 (it used to bring VERSION=2 straight back)
    code, events = once(tmp_path, project_name, VERSION="2", TOK="t")
    assert code == 0, events
    [desired] = [e for e in events if e["event"] == "desired"]
    assert desired["revision"] == 1 and desired["differences"] == ["web: environment.VERSION"]
    assert ("healing toward revision 1 (rolled back; the stack files differ: web: "
            "environment.VERSION)") in ok(stk(tmp_path, project_name, "drift", "--heal",
                                              "--once", VERSION="2", TOK="t")).stdout
    assert not [e for e in events if e["event"] in ("drift", "healed")], events
    assert "VERSION=1" in env_of(client, name)

    # drift is healed toward revision 1, not toward the files
    client.containers.get(name).remove(force=True)
    code, events = once(tmp_path, project_name, VERSION="2", TOK="t")
    [healed] = [e for e in events if e["event"] == "healed"]
    assert code == 0 and healed["toward"] == "revision" and healed["revision"] == 1, events
    assert healed["operations"] == [f"create {name}", f"start {name}"], events
    assert "VERSION=1" in env_of(client, name)

    # the next `up` returns to the files, and the watcher with it
    ok(stk(tmp_path, project_name, "up", "-d", VERSION="2", TOK="t"))
    assert "VERSION=2" in env_of(client, name)
    code, events = once(tmp_path, project_name, VERSION="2", TOK="t")
    assert code == 0 and [e["event"] for e in events] == ["watching", "done"], events
    assert [r["rollback_to"] for r in revisions(tmp_path, project_name)] == [None, None, 1,
                                                                              None]


def test_watch_does_not_undo_a_down_and_says_so(tmp_path: Path, project_name: str,
                                                client: docker.DockerClient,
                                                history: None) -> None:
    write(tmp_path, WORKER)
    ok(stk(tmp_path, project_name, "up", "-d"))
    ok(stk(tmp_path, project_name, "down"))
    code, events = once(tmp_path, project_name)
    assert code == 1, events
    [note] = [e for e in events if e["event"] == "note"]
    assert "drift does not bring the project back; run `stackup up`" in note["reason"]
    assert events[-1]["event"] == "done" and events[-1]["left"] == ["worker"], events
    assert not client.containers.list(all=True, filters={"label":
                                                         f"io.stackup.project={project_name}"})
