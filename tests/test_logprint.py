"""cli.logprint: Compose's log prefix and colours, line splitting, --since/--until values."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest

from stackup.cli.views.logprint import LogPrinter, parse_time, split_lines, use_color


def test_prefix_is_padded_as_compose_prints_it() -> None:
    out = io.StringIO()
    printer = LogPrinter([("web-1", "web"), ("tests-1", "tests")], color=False, stream=out)
    printer.lines("web-1", ["hello"])
    printer.lines("tests-1", ["ok", ""])
    printer.status("tests-1", "exited with code 3")
    assert out.getvalue() == ("web-1    | hello\ntests-1  | ok\ntests-1  | \n"
                              "tests-1 exited with code 3\n")


def test_colour_per_service_and_no_prefix() -> None:
    out = io.StringIO()
    printer = LogPrinter([("a-1", "a"), ("a-2", "a"), ("b-1", "b")], color=True, stream=out)
    assert printer.colors == {"a-1": "36", "a-2": "36", "b-1": "33"}
    printer.lines("b-1", ["x"])
    assert out.getvalue() == "\x1b[33mb-1  | \x1b[0mx\n"
    bare = io.StringIO()
    LogPrinter([("a-1", "a")], color=False, prefix=False, stream=bare).lines("a-1", ["x"])
    assert bare.getvalue() == "x\n"


@pytest.mark.parametrize(("no_color", "env", "tty", "expected"), [
    (False, {}, True, True), (False, {}, False, False), (True, {}, True, False),
    (False, {"COMPOSE_ANSI": "never"}, True, False), (False, {"NO_COLOR": "1"}, True, False),
    (False, {"COMPOSE_ANSI": "always"}, False, True)])
def test_use_color(no_color: bool, env: dict[str, str], tty: bool, expected: bool) -> None:
    assert use_color(no_color, env, isatty=tty) is expected


def test_split_lines_keeps_partial_lines_until_complete() -> None:
    chunks = [b"one\ntw", b"o\r\nthr", b"ee"]
    assert list(split_lines(chunks)) == [["one"], ["two"], ["three"]]


def test_parse_time() -> None:
    now = 1_700_000_000.0
    assert parse_time("42m", now) == now - 42 * 60
    assert parse_time("1h30m", now) == now - 5400
    assert parse_time("1.5s", now) == now - 1.5
    assert parse_time("1699999999.5", now) == 1699999999.5
    moment = datetime(2024, 1, 2, 15, 4, 5, tzinfo=timezone.utc).timestamp()
    assert parse_time("2024-01-02T15:04:05Z", now) == moment
    assert parse_time("2024-01-02T17:04:05+02:00", now) == moment
    with pytest.raises(ValueError, match="expected a timestamp"):
        parse_time("yesterday", now)
    with pytest.raises(ValueError):
        parse_time("5x", now)
