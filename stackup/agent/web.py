"""The agent's HTTP side, an ASGI app (Starlette): status, API, webhooks, metrics.

Pipeline position: beside ``service``, which it reads and triggers; served by uvicorn inside
the agent's anyio task group (``serve``). Routes:

- ``GET /``: the status page (server-rendered HTML, no JavaScript); ``GET /stacks/NAME``: one
  stack's last plan, diff and history.
- ``GET /api/stacks``, ``GET /api/stacks/NAME``: the same as JSON.
- ``GET /metrics``: Prometheus text format.
- ``POST /api/stacks/NAME/sync``, ``POST /api/stacks/NAME/approve`` (JSON body ``{"plan":
  "<digest>"}`` optional): need ``Authorization: Bearer <api token>``; without a configured
  token they are refused (403).
- ``POST /hooks``: a push event of GitHub, GitLab or Gitea, checked against the webhook secret
  before anything else (401 when it does not match, nothing runs); it wakes the stacks that
  follow the pushed branch. ``POST /hooks/NAME`` wakes that stack only. Bodies larger than
  ``max_body`` are refused (413).
"""

from __future__ import annotations

import hmac
import socket
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from stackup.agent import page
from stackup.agent.service import Agent
from stackup.agent.sync import Refused, StaleApproval
from stackup.agent.webhooks import branch_of, verify


def _error(status: int, text: str, **more: Any) -> JSONResponse:
    return JSONResponse({"error": text, **more}, status_code=status)


def make_app(agent: Agent) -> Starlette:
    config = agent.config

    def authorized(request: Request) -> Response | None:
        if not config.api_token:
            return _error(403, "this agent has no API token (api_token_env): mutating "
                               "endpoints are off")
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
                token.strip().encode("utf-8"), config.api_token.encode("utf-8")):
            return _error(401, "a valid 'Authorization: Bearer <token>' is needed")
        return None

    def known(request: Request) -> str | None:
        name = str(request.path_params["name"])
        return name if name in agent.status else None

    async def stacks(request: Request) -> Response:
        return JSONResponse({"stacks": [s.summary() for s in agent.status.values()]})

    async def stack(request: Request) -> Response:
        name = known(request)
        if name is None:
            return _error(404, "no such stack")
        return JSONResponse(agent.status[name].details())

    async def sync(request: Request) -> Response:
        refused = authorized(request)
        if refused is not None:
            return refused
        name = known(request)
        if name is None:
            return _error(404, "no such stack")
        agent.trigger(name, force=True)
        return JSONResponse({"stack": name, "triggered": True}, status_code=202)

    async def approve(request: Request) -> Response:
        refused = authorized(request)
        if refused is not None:
            return refused
        name = known(request)
        if name is None:
            return _error(404, "no such stack")
        body = await request.body()
        digest = None
        if body.strip():
            try:
                import json

                digest = json.loads(body).get("plan")
            except (ValueError, AttributeError):
                return _error(400, "the body must be JSON: {\"plan\": \"sha256:...\"}")
        try:
            result = await agent.approve(name, digest)
        except Refused as error:
            return _error(409, error.summary, detail=error.detail,
                          stale=isinstance(error, StaleApproval))
        return JSONResponse({"stack": name, "state": result.state, "ok":
                             result.state == "synced", "reason": result.reason,
                             "revision": result.revision})

    async def read_limited(request: Request) -> bytes | None:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > config.max_body):
            return None
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > config.max_body:
                return None
        return body

    async def hook(request: Request) -> Response:
        name = request.path_params.get("name")
        if name is not None and name not in agent.status:
            return _error(404, "no such stack")
        stack_config = config.stack(name) if name is not None else None
        secret = (stack_config.webhook_secret if stack_config else None) or config.webhook_secret
        if not secret:
            return _error(403, "webhooks are off: no webhook_secret_env is configured")
        body = await read_limited(request)
        if body is None:
            return _error(413, f"the body is larger than {config.max_body} bytes")
        forge = verify(request.headers, body, secret)
        if forge is None:
            return _error(401, "the webhook signature does not match")
        branch = branch_of(body)
        woken = [s.name for s in config.stacks
                 if (name is None or s.name == name) and (branch is None or s.branch == branch)]
        for stack_name in woken:
            agent.trigger(stack_name)
        return JSONResponse({"forge": forge, "branch": branch, "triggered": woken},
                            status_code=202)

    async def metrics(request: Request) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(agent.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    async def index(request: Request) -> Response:
        return HTMLResponse(page.index(list(agent.status.values())))

    async def detail(request: Request) -> Response:
        name = known(request)
        if name is None:
            return HTMLResponse(page.not_found(str(request.path_params["name"])),
                                status_code=404)
        return HTMLResponse(page.detail(agent.status[name]))

    return Starlette(routes=[
        Route("/", index),
        Route("/stacks/{name}", detail),
        Route("/api/stacks", stacks),
        Route("/api/stacks/{name}", stack),
        Route("/api/stacks/{name}/sync", sync, methods=["POST"]),
        Route("/api/stacks/{name}/approve", approve, methods=["POST"]),
        Route("/hooks", hook, methods=["POST"]),
        Route("/hooks/{name}", hook, methods=["POST"]),
        Route("/metrics", metrics),
    ])


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything else starts (a port in use is an error
    here, named, not a log line of the server's)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def serve(agent: Agent, sock: socket.socket) -> None:
    """Serve the app on ``sock`` until the process is asked to stop (SIGINT or SIGTERM); the
    agent then lets the syncs that run finish and stops."""
    import contextlib
    import signal
    from collections.abc import Iterator

    import anyio
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # the agent's own receiver below handles them

    server = Server(uvicorn.Config(make_app(agent), log_level="warning", access_log=False,
                                   lifespan="off"))

    async def stop_on_signal() -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for number in signals:
                agent.log(f"stopping ({signal.Signals(number).name}): the syncs that run "
                          f"finish first")
                server.should_exit = True
                return

    async with anyio.create_task_group() as group:
        group.start_soon(stop_on_signal)
        await server.serve(sockets=[sock])
        group.cancel_scope.cancel()
