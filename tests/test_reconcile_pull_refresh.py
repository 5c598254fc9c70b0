"""pull_policy daily / weekly / every_<duration> / refresh + pull_refresh_after: reconcile pulls
an image again when stackup's last pull of it on the engine is that old (observed facts in,
plan text out), and leaves a fresh one alone."""

from __future__ import annotations

import dataclasses

import pytest

from stackup.core.model import FrozenMap
from stackup.reconcile.images import refresh_interval
from stackup.testing.fake import FakeEngine
from tests.test_reconcile import container, make_project, observed, svc, text

HOUR = 3600.0


def state_with(project, ago: float | None):  # type: ignore[no-untyped-def]
    state = observed(project, container(project, "web"))
    pulled = {} if ago is None else {"nginx:1": ago}
    return dataclasses.replace(state, pulled_ago=FrozenMap(pulled))


@pytest.mark.parametrize(("policy", "after", "seconds"), [
    ("daily", None, 24 * HOUR), ("weekly", None, 7 * 24 * HOUR), ("every_12h", None, 12 * HOUR),
    ("every_1h30m", None, 1.5 * HOUR), ("refresh", 600.0, 600.0), ("refresh", None, None),
    ("missing", None, None), ("always", None, None)])
def test_refresh_interval(policy: str, after: float | None, seconds: float | None) -> None:
    assert refresh_interval(svc("web", pull_policy=policy, pull_refresh_after=after)) == seconds


def test_a_due_image_is_pulled_and_a_fresh_one_is_not() -> None:
    project = make_project(svc("web", image="nginx:1", pull_policy="daily"))
    due = text(project, state_with(project, 2 * 24 * HOUR))
    assert due.startswith("#1 + pull   nginx:1   ")
    assert "pull_policy: daily: last pulled 2d ago\n" in due.splitlines(keepends=True)[0]
    # the container is replaced only if the pull brings a new image, as with `always`
    assert due.endswith("Plan: 1 to replace if the image changes, 1 to pull.\n")
    assert text(project, state_with(project, 23 * HOUR)) == \
        "No changes: 1 container up to date.\n"


def test_an_image_stackup_never_pulled_is_due() -> None:
    project = make_project(svc("web", image="nginx:1", pull_policy="every_6h"))
    first = text(project, state_with(project, None)).splitlines()[0]
    assert first.startswith("#1 + pull   nginx:1   ")
    assert first.endswith("pull_policy: every_6h: never pulled by stackup on this engine")


def test_a_missing_image_is_pulled_whatever_its_age_and_pull_flag_wins() -> None:
    project = make_project(svc("web", image="nginx:1", pull_policy="weekly"))
    missing = dataclasses.replace(observed(project, images={"nginx:1": None}),
                                  pulled_ago=FrozenMap({"nginx:1": 1.0}))
    assert "image not found locally" in text(project, missing)
    assert text(project, state_with(project, 30 * 24 * HOUR), pull="missing") == \
        "No changes: 1 container up to date.\n"


def test_the_fake_engine_keeps_the_pull_time_as_the_docker_adapter_does() -> None:
    engine = FakeEngine()
    now = [1000.0]
    engine.clock = lambda: now[0]
    assert engine.observe("demo", pulled=["nginx:1"]).pulled_ago == {}
    engine.pull_image("nginx:1")
    now[0] += 90
    assert engine.observe("demo", pulled=["nginx:1"]).pulled_ago == {"nginx:1": 90.0}
