"""The end of a run whose engine stopped answering (dockerd stopped or restarted under it):
the summary names the engine once, before the failures (tests/integration/test_faults.py does
it for real)."""

from __future__ import annotations

import io
from pathlib import Path

from stackup.cli.views.progress import Progress
from stackup.core.errors import EngineError, EngineUnavailable
from stackup.run.events import Outcome
from stackup.core.plan import Kind, Operation, Plan


def test_a_run_cut_short_by_the_engine_says_so_first() -> None:
    """The summary of a run whose engine stopped answering names the engine once, before the
    failures, and says that running the command again picks up where it stopped."""
    start = Operation("start_container:a", Kind.START_CONTAINER, "x", container_id="a")
    other = Operation("start_container:b", Kind.START_CONTAINER, "x", container_id="b")
    gone = EngineUnavailable("cannot start container a: the Docker engine at unix:///x.sock is "
                             "stopping or restarting (transport is closing: unavailable)")
    out = io.StringIO()
    Progress("plain", out).summary(Plan("demo", (start, other)), Outcome(
        failed=((start, gone), (other, EngineError("cannot start container b: refused")))))
    lines = out.getvalue().splitlines()
    assert lines[0] == "up failed: 2 operation(s) failed, 0 skipped."
    assert "the engine stopped answering" in lines[1] and "unix:///x.sock" in lines[1]
    assert "Run `up` again once it answers" in lines[2]
    out = io.StringIO()
    Progress("plain", out).summary(Plan("demo", (other,)), Outcome(
        failed=((other, EngineError("cannot start container b: refused")),)))
    assert "stopped answering" not in out.getvalue()


def test_an_engine_that_closed_its_listener_is_going_away(tmp_path: Path) -> None:
    """A dockerd shutting down closes its listener first, then answers the requests under way
    with the errors of its closed stores: a 5xx answer while no new connection is accepted is
    the engine going away, whatever its message."""
    import socket

    from stackup.adapters.docker.client import engine_listens, error_for

    path = tmp_path / "engine.sock"
    gone = f"unix://{path}"
    assert not engine_listens(gone)
    error = error_for(500, "failed to update store for object type *libnetwork.endpoint: open "
                           ": no such file or directory", "cannot start container a", gone)
    assert isinstance(error, EngineUnavailable) and gone in error.summary
    assert isinstance(error_for(500, "database not open", "x", "ssh://h"), EngineUnavailable)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(1)
        assert engine_listens(gone)
        error = error_for(500, "driver failed programming external connectivity", "x", gone)
        assert type(error) is EngineError
