"""`stackup agent`'s pure parts, without an engine: agent.yaml errors (file, line, key),
webhook signatures, the gate, notifications that never block, the status page's escaping."""

from __future__ import annotations

import hashlib
import hmac
import textwrap
import threading
import time
from pathlib import Path

import anyio
import pytest

from stackup.agent.config import AgentConfig, AgentConfigError, load_config, parse_config
from stackup.agent.config import Notifier
from stackup.agent.gate import decide
from stackup.agent.notify import Notifications, message
from stackup.agent.page import index
from stackup.agent.service import Agent
from stackup.agent.status import StackStatus, SyncResult, plan_view
from stackup.agent.webhooks import branch_of, verify
from stackup.loader.loader import LoadOptions, load_project
from stackup.core.model import Project
from stackup.core.plan import Kind, Operation, Plan

GOOD = """\
listen: 127.0.0.1:9090
api_token_env: MY_TOKEN
webhook_secret_env: MY_HOOK
stacks:
  - name: shop
    repo: https://git.example.com/ops/shop.git
    branch: main
    path: deploy/
    files: [compose.yaml]
    env_files: [prod.env]
    project: shop
    target: engine
    interval: 60s
    approve: non-destructive
    on_failure: rollback
    heal: true
notify:
  - url: https://hooks.example.com/T000/B000
"""


def parse(text: str, **environ: str) -> AgentConfig:
    return parse_config(textwrap.dedent(text), "agent.yaml", environ,
                        default_state_dir="/state")


def test_the_readme_example_loads_with_secrets_from_the_environment() -> None:
    config = parse(GOOD, MY_TOKEN="t0k", MY_HOOK="h00k")
    stack = config.stacks[0]
    assert (stack.name, stack.path, stack.files, stack.interval, stack.approve, stack.heal) == \
        ("shop", "deploy/", ("compose.yaml",), 60.0, "non-destructive", True)
    assert config.api_token == "t0k"
    assert config.webhook_secret == "h00k"
    assert "t0k" not in repr(config) and "h00k" not in repr(config)
    assert "hooks.example.com" not in repr(config)
    swarm = parse(GOOD.replace("target: engine", "target: swarm"), MY_TOKEN="t", MY_HOOK="h")
    assert swarm.stacks[0].target == "swarm"


@pytest.mark.parametrize(("change", "expected"), [
    (("approve: non-destructive", "approve: yes"),
     "agent.yaml:14: stacks[0].approve: must be one of auto, non-destructive, manual "
     "(found 'yes')"),
    (("interval: 60s", "interval: often"),
     "agent.yaml:13: stacks[0].interval: must be a duration like 30s, 5m or 0"),
    (("    heal: true", "    heal: true\n    colour: blue"),
     "agent.yaml:17: stacks[0].colour: unknown key"),
    (("    branch: main", "    brnach: main"),
     "agent.yaml:7: stacks[0].brnach: unknown key (did you mean 'branch'?)"),
    (("listen: 127.0.0.1:9090", "listen: nowhere"),
     "agent.yaml:1: listen: must be HOST:PORT"),
    (("path: deploy/", "path: ../elsewhere"),
     "agent.yaml:8: stacks[0].path: must be a folder inside the repository"),
    (("heal: true", "heal: maybe"), "agent.yaml:16: stacks[0].heal: must be true or false"),
    (("target: engine", "target: kubernetes"),
     "agent.yaml:12: stacks[0].target: must be one of engine, swarm (found 'kubernetes')"),
])
def test_errors_name_the_file_the_line_and_the_key(change: tuple[str, str],
                                                   expected: str) -> None:
    with pytest.raises(AgentConfigError) as caught:
        parse(GOOD.replace(*change), MY_TOKEN="t", MY_HOOK="h")
    assert caught.value.summary.startswith(expected)


def test_a_secret_is_the_name_of_an_environment_variable_that_must_be_set() -> None:
    with pytest.raises(AgentConfigError) as unset:
        parse(GOOD, MY_HOOK="h")
    assert unset.value.summary == ("agent.yaml:2: api_token_env: the environment variable "
                                   "MY_TOKEN is not set")
    with pytest.raises(AgentConfigError) as literal:
        parse(GOOD.replace("api_token_env: MY_TOKEN", "api_token_env: s3cr3t-v@lue"),
              MY_HOOK="h")
    assert "must name an environment variable" in literal.value.summary
    assert "the secret itself never goes into the file" in literal.value.summary


def test_yaml_errors_duplicates_and_missing_keys(tmp_path: Path) -> None:
    with pytest.raises(AgentConfigError, match=r"^agent.yaml:4: not valid YAML"):
        parse("stacks:\n  - name: a\n    repo: [\n")
    with pytest.raises(AgentConfigError, match=r"stacks\[1\]: a second stack named 'a'"):
        parse("stacks:\n  - {name: a, repo: r}\n  - {name: a, repo: r}\n")
    with pytest.raises(AgentConfigError, match=r"^agent.yaml:2: stacks\[0\]: needs 'repo'"):
        parse("stacks:\n  - name: a\n")
    with pytest.raises(AgentConfigError, match="cannot read the agent configuration"):
        load_config(str(tmp_path / "missing.yaml"), {})
    (tmp_path / "agent.yaml").write_text("stacks:\n  - {name: a, repo: r, interval: 0}\n")
    config = load_config(str(tmp_path / "agent.yaml"), {})
    assert (config.host, config.port, config.stacks[0].interval) == ("127.0.0.1", 9090, 0.0)
    assert config.state_dir == str(tmp_path / ".stackup-agent")


BODY = b'{"ref": "refs/heads/main", "after": "abc"}'


def test_webhook_signatures_of_github_gitea_and_gitlab() -> None:
    good = hmac.new(b"s3", BODY, hashlib.sha256).hexdigest()
    assert verify({"x-hub-signature-256": f"sha256={good}"}, BODY, "s3") == "github"
    assert verify({"x-gitea-signature": good}, BODY, "s3") == "gitea"
    assert verify({"x-gitlab-token": "s3"}, BODY, "s3") == "gitlab"
    assert verify({"x-hub-signature-256": f"sha256={good}"}, BODY + b" ", "s3") is None
    assert verify({"x-hub-signature-256": good}, BODY, "s3") is None  # no prefix
    assert verify({"x-gitea-signature": good}, BODY, "other") is None
    assert verify({"x-gitlab-token": "s4"}, BODY, "s3") is None
    assert verify({}, BODY, "s3") is None
    assert branch_of(BODY) == "main"
    assert branch_of(b'{"ref": "refs/tags/v1"}') is None and branch_of(b"[") is None


def project(tmp_path: Path, text: str) -> Project:
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(text))
    return load_project(LoadOptions(project_name="p", cwd=str(tmp_path), environ={})).project


STACK = """\
services:
  web: {image: busybox:local}
  db: {image: busybox:local, volumes: ["data:/data"]}
volumes:
  data: {}
"""


def recreate(project: Project, name: str) -> list[Operation]:
    service = project.services[name]
    return [Operation(f"create_container:{name}:1", Kind.CREATE_CONTAINER, "changed",
                      service=service, number=1),
            Operation(f"remove_container:{name}:1:replaced", Kind.REMOVE_CONTAINER, "replaced",
                      service=service, number=1, container_id="c1")]


def test_the_gate(tmp_path: Path) -> None:
    p = project(tmp_path, STACK)
    web = Plan("p", tuple(recreate(p, "web")), project=p)
    db = Plan("p", tuple(recreate(p, "db")), project=p)
    orphan = Plan("p", (Operation("remove_container:old:1", Kind.REMOVE_CONTAINER, "orphan",
                                  container_name="p-old-1", container_id="c2"),), project=p)
    volume = Plan("p", (Operation("remove_volume:x", Kind.REMOVE_VOLUME, "gone",
                                  name="p_x"),), project=p)
    assert decide("auto", db, p).apply and decide("non-destructive", web, p).apply
    assert not decide("manual", web, p).apply
    assert decide("manual", Plan("p", (), project=p), p).apply  # nothing to do
    assert decide("non-destructive", db, p).reasons == (
        "recreates service db, which mounts named volume data",)
    assert decide("non-destructive", orphan, p).reasons == ("removes service old",)
    assert decide("non-destructive", volume, p).reasons == ("removes volume p_x",)
    # on a Swarm, an update replaces the tasks; a removed service is a removal too
    update = Plan("p", (Operation("update_service:db", Kind.UPDATE_SERVICE, "changed",
                                  service=p.services["db"], name="p_db"),
                        Operation("update_service:web", Kind.UPDATE_SERVICE, "changed",
                                  service=p.services["web"], name="p_web"),
                        Operation("remove_service:old", Kind.REMOVE_SERVICE, "orphan",
                                  name="p_old")), project=p)
    assert decide("non-destructive", update, p).reasons == (
        "removes service p_old", "recreates service db, which mounts named volume data")


def test_a_failing_receiver_never_blocks_and_is_retried_with_backoff() -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    said: list[str] = []
    notes = Notifications((Notifier(f"http://127.0.0.1:{port}/x", timeout=1, retries=2),),
                          said.append, backoff=0.05, queue=2)
    body = message("shop", "rolled-back", "rolled-back", "a" * 40, "web: unhealthy",
                   "web")
    assert body["ok"] is False and "ROLLED BACK" in body["text"] and "web" in body["text"]

    async def main() -> float:
        async with anyio.create_task_group() as group:
            group.start_soon(notes.run)
            started = time.monotonic()
            for _ in range(4):
                notes.send(body)  # never waits, even with the queue full
            sent = time.monotonic() - started
            await anyio.sleep(1.0)
            group.cancel_scope.cancel()
        return sent

    assert anyio.run(main) < 0.05
    assert any("dropped" in line for line in said)
    assert any("failed 3 times" in line and "gave up" in line for line in said)
    assert not any(str(port) in line for line in said)  # the URL is never logged


def test_the_status_page_escapes_and_has_no_script(tmp_path: Path) -> None:
    p = project(tmp_path, STACK)
    status = StackStatus("shop", "shop", state="rolled-back", commit="b" * 40,
                         message="<b>bold</b>", reason="web: <unhealthy>")
    status.plan = plan_view(Plan("p", tuple(recreate(p, "web")), project=p))
    page = index([status])
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold" not in page
    assert "rolled-back" in page and "bbbbbbbbbbbb" in page and "<script" not in page
    assert status.summary()["ok"] is False


def test_the_example_configurations_load() -> None:
    """examples/gitops-agent: its README's complete agent.yaml and the container's own."""
    import re

    folder = Path(__file__).resolve().parents[2] / "examples" / "gitops-agent"
    text = (folder / "README.md").read_text()
    block = re.search(r"## agent.yaml\n\n```yaml\n(.*?)```", text, re.S)
    assert block is not None
    names = set(re.findall(r"_env: (\w+)", block.group(1)))
    environ = {name: "https://x.example/hook" for name in names}
    config = parse(block.group(1), **environ)
    assert [s.name for s in config.stacks] == ["shop"] and len(config.notify) == 2
    own = parse((folder / "agent.yaml").read_text(), STACKUP_AGENT_TOKEN="t",
                STACKUP_WEBHOOK_SECRET="s")
    assert (own.host, own.port, own.state_dir) == ("0.0.0.0", 9090, "/var/lib/stackup-agent")


def test_a_new_state_never_shows_with_the_history_before_it(tmp_path: Path) -> None:
    """The status is read by the web routes on the same event loop while a sync's history is
    being read in a worker thread: until that history is in, the status shows the state
    before the sync (CI once read `synced` at the new commit with the old history)."""
    config = parse(GOOD, MY_TOKEN="t", MY_HOOK="h")
    agent = Agent(config, {}, log=lambda line: None)
    reading = threading.Event()
    release = threading.Event()

    class Sync:
        stack = config.stacks[0]

        def poll(self, force: bool = False) -> SyncResult:
            return SyncResult("synced", "synced", "c2" * 20, applied=True)

        def history(self, limit: int = 20) -> list[dict[str, object]]:
            reading.set()
            release.wait(10)
            return [{"commit": "c1" * 20}, {"commit": "c2" * 20}]

    agent.syncs["shop"] = Sync()  # type: ignore[assignment]
    agent.status["shop"].history = [{"commit": "c1" * 20}]
    seen: list[tuple[str, str | None, int]] = []

    async def main() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(agent.sync, "shop")
            await anyio.to_thread.run_sync(reading.wait, 10)
            status = agent.status["shop"]
            seen.append((status.state, status.commit, len(status.history)))
            release.set()
        status = agent.status["shop"]
        seen.append((status.state, status.commit, len(status.history)))

    anyio.run(main)
    assert seen == [("syncing", None, 1), ("synced", "c2" * 20, 2)]
