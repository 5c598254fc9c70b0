"""The terminal view of a run (``cli.views.live``): one line per resource in Compose's words,
the internal steps of a replacement folded into its line, causes only where they explain a
change, a ``[+] Running N/M`` header, failures in place."""

from __future__ import annotations

import dataclasses

from stackup.cli.views.live import LiveView, summary_line
from stackup.core.model import FrozenMap
from stackup.core.plan import Operation, Plan
from stackup.reconcile import plan_up
from stackup.run.events import Event
from tests.test_reconcile import STACK, container, observed


def _run(plan: Plan, view: LiveView, *, fail: str | None = None) -> None:
    """Events as the executor sends them, in plan order (restore steps not needed)."""
    for op in plan.operations:
        if op.if_failed:
            view.apply(_event(op, "not_needed"))
            continue
        view.apply(_event(op, "started"))
        if op.op_id == fail:
            view.apply(_event(op, "failed", error="driver failed programming external "
                                                  "connectivity: port 8080 in use\nmore"))
            return
        view.apply(_event(op, "done", seconds=0.5))


def _event(op: Operation, phase: str, *, seconds: float = 0.0,
           error: str | None = None) -> Event:
    return Event(op.op_id, op.kind, op.subject, op.service_name, phase, op.cause, seconds,
                 error)


def test_a_cold_up_is_one_line_per_resource_in_composes_words() -> None:
    plan = plan_up(STACK, observed(STACK, resources=False))
    view = LiveView(plan.operations)
    assert view.render()[0] == "[+] Running 0/5"
    _run(plan, view)
    lines = view.render(width=100)
    assert lines[0] == "[+] Running 5/5"
    rows = {line.split()[1] + " " + line.split()[2]: line.split()[3] for line in lines[1:]}
    assert rows == {"Network demo_default": "Created", "Volume demo_data": "Created",
                    "Container demo-db-1": "Healthy", "Container demo-api-1": "Started",
                    "Container demo-web-1": "Started"}
    assert all(line.startswith(" ✔ ") for line in lines[1:])
    assert "not found" not in "\n".join(lines)  # the obvious cause is not shown
    assert summary_line(view, "up", 2.04) == "up: 2 created, 2 started, 1 healthy in 2.0s"


def test_a_replacement_folds_into_its_line_and_says_why() -> None:
    old = dataclasses.replace(STACK.services["api"], environment=FrozenMap({"VERSION": "0"}))
    state = observed(STACK, container(STACK, "db"),
                     container(STACK, "api", stale=old, container_id="ab12" * 16),
                     container(STACK, "web"))
    plan = plan_up(STACK, state)
    view = LiveView(plan.operations)
    _run(plan, view)
    lines = view.render(width=120)
    assert lines[0] == "[+] Running 2/2"
    api = next(line for line in lines if "demo-api-1" in line)
    assert api.split()[:4] == ["✔", "Container", "demo-api-1", "Recreated"]
    assert api.endswith("environment.VERSION changed")
    assert not any("ab12ab12ab12_" in line for line in lines)  # the aside name is folded in
    assert "make way" not in "\n".join(lines) and "rename" not in "\n".join(lines)
    assert summary_line(view, "up", 1.0) == "up: 1 recreated, 1 healthy in 1.0s"


def test_a_failure_shows_in_place_with_the_engines_reason() -> None:
    plan = plan_up(STACK, observed(STACK, resources=False))
    view = LiveView(plan.operations, color=False)
    _run(plan, view, fail="start_container:web:1")
    lines = view.render(width=100)
    web = lines.index(next(line for line in lines if "demo-web-1" in line))
    assert lines[web].split()[:4] == ["✘", "Container", "demo-web-1", "Error"]
    assert lines[web + 1].strip() == ("driver failed programming external connectivity: port "
                                      "8080 in use")
    assert lines[0] == "[+] Running 5/5"


def test_lines_fit_the_terminal_and_colour_only_when_asked() -> None:
    plan = plan_up(STACK, observed(STACK, resources=False))
    plain, colored = LiveView(plan.operations), LiveView(plan.operations, color=True)
    _run(plan, plain)
    _run(plan, colored)
    assert all(len(line) <= 30 for line in plain.render(width=30))
    assert "\x1b[" not in "".join(plain.render()) and "\x1b[32m✔" in "".join(colored.render())


def test_plain_progress_is_one_timestamped_line_per_step() -> None:
    import io
    import re

    from stackup.cli.views.progress import Progress

    plan = plan_up(STACK, observed(STACK, resources=False))
    out = io.StringIO()
    progress = Progress("plain", stream=out)
    progress.on_event(Event("", plan.operations[0].kind, "demo", None, "planned", "", 0.0,
                            plan=plan))
    for op in plan.operations:
        progress.on_event(_event(op, "started"))
        progress.on_event(_event(op, "done", seconds=0.2))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 * len(plan.operations)  # the plan itself is not a line
    assert all(re.match(r"\d\d:\d\d:\d\d\.\d{3}Z  (\.\.\.|done) ", line) for line in lines), lines
