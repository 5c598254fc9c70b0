"""``stackup agent``: run the GitOps agent, or ask a running one to sync or apply a plan.

Pipeline position: CLI over ``stackup.agent``. ``stackup agent --config agent.yaml`` reads the
configuration (errors name file, line and key), binds the listening socket and runs the agent
until SIGINT or SIGTERM. ``stackup agent sync NAME`` and ``stackup agent approve NAME`` call the
running agent's API (address and token from the same configuration and environment); exit 0
only when the stack ended ``synced`` (approve) or the sync was triggered (sync), 3 when the
approved plan was stale, 1 otherwise.
"""

from __future__ import annotations

import datetime
import os
import sys
from typing import Any

import click

from stackup.core.errors import ProjectError


def _config(ctx: click.Context) -> Any:
    from stackup.agent.config import load_config

    return load_config(ctx.meta["stackup.agent.config"], os.environ)


def _log(text: str) -> None:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    click.echo(f"{now} {text}", err=True)


@click.group("agent", invoke_without_command=True)
@click.option("--config", "config_path", default="agent.yaml", show_default=True,
              envvar="STACKUP_AGENT_CONFIG", metavar="FILE",
              help="The agent's configuration. Env: STACKUP_AGENT_CONFIG.")
@click.pass_context
def agent_cmd(ctx: click.Context, config_path: str) -> None:
    """Follow git branches and converge their stacks (GitOps): plan, gate, apply, roll back.

    Without a subcommand: run the agent (HTTP status page, API, webhooks and metrics on the
    configuration's `listen` address) until SIGINT or SIGTERM."""
    ctx.meta["stackup.agent.config"] = config_path
    if ctx.invoked_subcommand is not None:
        return
    from stackup.agent import web
    from stackup.agent.service import Agent, run_agent

    config = _config(ctx)
    agent = Agent(config, os.environ, _log)
    try:
        sock = web.listen(config.host, config.port)
    except OSError as exc:
        raise ProjectError(f"cannot listen on {config.host}:{config.port}: {exc.strerror}",
                           detail=f"Change `listen:` in {config.source}.") from None
    port = sock.getsockname()[1]
    _log(f"stackup agent: following {len(config.stacks)} stack"
         f"{'' if len(config.stacks) == 1 else 's'}, listening on http://{config.host}:{port}")
    run_agent(agent, lambda: web.serve(agent, sock))


def _call(ctx: click.Context, method: str, path: str, body: dict[str, Any] | None = None,
          timeout: float = 600.0) -> tuple[int, dict[str, Any]]:
    import httpx

    config = _config(ctx)
    host = "127.0.0.1" if config.host in ("0.0.0.0", "::", "") else config.host
    host = f"[{host}]" if ":" in host else host
    headers = {"Authorization": f"Bearer {config.api_token}"} if config.api_token else {}
    try:
        response = httpx.request(method, f"http://{host}:{config.port}{path}", json=body,
                                 headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise ProjectError(f"cannot reach the agent at {host}:{config.port}: "
                           f"{type(exc).__name__}",
                           detail="Is `stackup agent` running with this configuration?") \
            from None
    try:
        return response.status_code, dict(response.json())
    except ValueError:
        return response.status_code, {"error": response.text[:200]}


def _subcommands(group: click.Group) -> None:
    """``sync``, ``approve``, ``status``: the running agent's API, from the shell (defined
    here so that the module's only command attribute is ``agent_cmd``)."""
    @group.command("sync")
    @click.argument("stack")
    @click.pass_context
    def sync_cmd(ctx: click.Context, stack: str) -> None:
        """Ask the running agent to sync STACK now (its branch head, even one that failed)."""
        status, body = _call(ctx, "POST", f"/api/stacks/{stack}/sync")
        if status != 202:
            raise ProjectError(f"the agent refused to sync {stack}: {body.get('error')}")
        click.echo(f"sync of {stack} started; `stackup agent status {stack}` shows the result",
                   err=True)

    @group.command("approve")
    @click.argument("stack")
    @click.option("--plan", "digest", metavar="DIGEST",
                  help="Apply only if the waiting plan has this digest (sha256:...).")
    @click.pass_context
    def approve_cmd(ctx: click.Context, stack: str, digest: str | None) -> None:
        """Apply exactly the plan STACK waits with; refused (exit 3) when it is stale."""
        status, body = _call(ctx, "POST", f"/api/stacks/{stack}/approve",
                             {"plan": digest} if digest else None)
        if status == 409:
            click.echo(f"error: {body.get('error')}", err=True)
            if body.get("detail"):
                click.echo(str(body["detail"]), err=True)
            sys.exit(3 if body.get("stale") else 1)
        if status != 200:
            raise ProjectError(f"the agent refused the approval of {stack}: "
                               f"{body.get('error')}")
        click.echo(f"{stack}: {body.get('state')}"
                   + (f": {body['reason']}" if body.get("reason") else ""), err=True)
        if not body.get("ok"):
            sys.exit(1)

    @group.command("status")
    @click.argument("stack", required=False)
    @click.pass_context
    def status_cmd(ctx: click.Context, stack: str | None) -> None:
        """Print the running agent's view of its stacks (JSON); exit 1 unless all are synced."""
        import json

        status, body = _call(ctx, "GET", f"/api/stacks/{stack}" if stack else "/api/stacks",
                             timeout=30.0)
        if status != 200:
            raise ProjectError(f"the agent answered {status}: {body.get('error')}")
        click.echo(json.dumps(body, indent=2))
        stacks = [body] if stack else body.get("stacks", [])
        if not all(s.get("ok") for s in stacks):
            sys.exit(1)


_subcommands(agent_cmd)
