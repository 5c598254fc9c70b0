"""Revision records: the model without secret values, labels round trip, restore, targets."""

from __future__ import annotations

import dataclasses
import json
import secrets as pysecrets
import threading
from pathlib import Path

import pytest

import stackup
from stackup.app import revisions as R
from stackup.testing.fake import FakeEngine
from stackup.core.errors import ProjectError

CANARY = "canary-" + pysecrets.token_hex(8)


def load(tmp_path: Path, text: str, environ: dict[str, str]) -> stackup.Project:
    (tmp_path / "compose.yaml").write_text(text)
    return stackup.load([str(tmp_path / "compose.yaml")], environ=environ)


STACK = """
name: demo
services:
  web:
    image: busybox:local
    environment: {GREETING: "hi $$HOME"}
    secrets: [token, pem, inline]
    configs: [conf]
secrets:
  token: {environment: TOKEN}
  pem: {file: ./pem.txt}
  inline: {content: "%s-inline"}
configs:
  conf: {content: "%s-config"}
""" % (CANARY, CANARY)


@pytest.fixture()
def project(tmp_path: Path) -> stackup.Project:
    (tmp_path / "pem.txt").write_text(CANARY + "-file")
    return load(tmp_path, STACK, {"TOKEN": CANARY + "-env"})


def record(project: stackup.Project, number: int = 1, **kw: object) -> R.Revision:
    files = {p: R.sha256(Path(p).read_bytes()) for p in R.file_sources(project)}
    model, digests = R.recorded_model(project, files)
    fields = dict(project_name=project.name, number=number, time="2024-01-01T00:00:00Z",
                  user="me@here", command="up", services=(), outcome="ok", reason="",
                  model=model, digests=digests, working_dir=project.working_dir, token="t")
    fields.update(kw)
    return R.Revision(**fields)  # type: ignore[arg-type]


def test_no_secret_value_in_the_labels(project: stackup.Project) -> None:
    labels = R.to_labels(record(project))
    decoded = R.from_labels(labels)
    assert CANARY not in json.dumps(labels)
    assert CANARY not in decoded.model
    sources = {(d.kind, d.key): d.source for d in decoded.digests}
    assert sources == {("secrets", "token"): "environment", ("secrets", "pem"): "file",
                       ("secrets", "inline"): "content", ("configs", "conf"): "content"}
    assert all(len(d.sha256) == 64 for d in decoded.digests)
    assert not any(k.startswith("io.stackup.project") for k in labels)


def test_restore_gives_the_same_project(project: stackup.Project, tmp_path: Path) -> None:
    revision = R.from_labels(R.to_labels(record(project)))
    files = {str(tmp_path / "pem.txt"): R.sha256((tmp_path / "pem.txt").read_bytes())}
    restored = R.restore_project(revision, environ={"TOKEN": CANARY + "-env"},
                                 current=project, file_digests=files)
    assert dataclasses.replace(restored, config_files=project.config_files) == project
    assert restored.services["web"].environment["GREETING"] == "hi $HOME"


@pytest.mark.parametrize("what,environ,current,files,named", [
    ("env changed", {"TOKEN": "other"}, True, True, "secret 'token'"),
    ("env unset", {}, True, True, "secret 'token'"),
    ("inline gone", {"TOKEN": CANARY + "-env"}, False, True, "'inline'"),
    ("file changed", {"TOKEN": CANARY + "-env"}, True, False, "secret 'pem'"),
])
def test_restore_says_which_secret_is_unavailable(project: stackup.Project, tmp_path: Path,
                                                  what: str, environ: dict[str, str],
                                                  current: bool, files: bool,
                                                  named: str) -> None:
    revision = record(project)
    path = str(tmp_path / "pem.txt")
    digests = {path: R.sha256((tmp_path / "pem.txt").read_bytes()) if files else "0" * 64}
    with pytest.raises(ProjectError) as caught:
        R.restore_project(revision, environ=environ, current=project if current else None,
                          file_digests=digests)
    assert "no longer available" in caught.value.summary and named in caught.value.summary
    assert CANARY not in str(caught.value)


def test_large_models_are_chunked(tmp_path: Path) -> None:
    services = "".join(f"  s{i}:\n    image: busybox:local\n    environment: "
                       f"{{V: {pysecrets.token_hex(600)}}}\n" for i in range(120))
    project = load(tmp_path, "name: big\nservices:\n" + services, {})
    labels = R.to_labels(record(project))
    parts = int(labels[R.MODEL_PARTS])
    assert parts >= 2 and all(len(labels[f"{R.MODEL}.{i}"]) <= R.CHUNK for i in range(parts))
    assert R.from_labels(labels).model == record(project).model


def test_damaged_record_is_an_error_not_a_traceback(project: stackup.Project) -> None:
    labels = R.to_labels(record(project))
    labels[f"{R.MODEL}.0"] = labels[f"{R.MODEL}.0"][:-8]
    with pytest.raises(ProjectError, match="damaged revision record"):
        R.from_labels(labels, "stackup-revision.demo.1")


def test_rollback_target(project: stackup.Project, tmp_path: Path) -> None:
    other = load(tmp_path, STACK.replace("hi $$HOME", "hello"), {"TOKEN": "x"})
    a = record(project, 1)
    b = record(other, 2)
    c = record(other, 3, outcome="failed", reason="boom")
    assert R.rollback_target([a, b]).number == 1
    assert R.rollback_target([a, b, c]).number == 1  # 2 has the model of the failed latest
    assert R.rollback_target([a, b, c], 2).number == 2
    assert R.previous_good([a, b, c], 3).number == 2
    with pytest.raises(ProjectError, match="no earlier good revision"):
        R.rollback_target([a, record(project, 2)])
    with pytest.raises(ProjectError, match="no revision 9"):
        R.rollback_target([a], 9)


def test_concurrent_writers_get_distinct_numbers(project: stackup.Project) -> None:
    from stackup.cli.revision_records import store

    engine = FakeEngine()
    got: list[int] = []

    def writer(i: int) -> None:
        revision = dataclasses.replace(record(project), token=f"tok{i}")
        got.append(store(engine, revision, []).number)  # all start from number 1

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(1, 9))
    assert len(engine.list_revisions("demo")) == 8
    engine.remove_revisions("demo", [1, 2])
    assert sorted(int(x[R.NUMBER]) for x in engine.list_revisions("demo")) == list(range(3, 9))


def test_a_rollback_record_is_the_desired_state_until_the_next_up(
        project: stackup.Project, tmp_path: Path) -> None:
    other = load(tmp_path, STACK.replace("hi $$HOME", "hello"), {"TOKEN": "x"})
    one, two = record(project, 1), record(other, 2)
    back = R.from_labels(R.to_labels(record(project, 3, command="rollback to 1",
                                            rollback_to=1)))
    assert back.rollback_to == 1 and back.summary()["rollback_to"] == 1
    assert R.from_labels(R.to_labels(one)).rollback_to is None
    assert R.desired_revision([one, two]) is None  # the stack files
    assert R.desired_revision([one, two, back]) is back
    assert R.desired_revision([one, two, back, record(other, 4)]) is None  # an up after it


def test_the_commit_author_and_message_are_fields_of_the_record(
        project: stackup.Project) -> None:
    long = "deploy: " + "x" * 300
    labels = R.to_labels(record(project, commit="0123abcd" * 5, author="Ada <ada@example.com>",
                                message=f"{long}\n\nbody line with details\n"))
    assert labels[R.AUTHOR] == "Ada <ada@example.com>"
    assert "body line" not in labels[R.MESSAGE]  # the first line only, bounded
    assert len(labels[R.MESSAGE]) == R.MAX_GIT_TEXT and labels[R.MESSAGE].endswith("…")
    back = R.from_labels(labels)
    assert (back.commit, back.author, back.message) == ("0123abcd" * 5,
                                                        "Ada <ada@example.com>",
                                                        labels[R.MESSAGE])
    source = back.summary()["source"]
    assert (source["git_author"], source["git_message"]) == (back.author, back.message)
    # a record written before these fields existed still reads, without them
    old = {k: v for k, v in labels.items() if k not in (R.AUTHOR, R.MESSAGE)}
    before = R.from_labels(old)
    assert (before.commit, before.author, before.message) == ("0123abcd" * 5, None, None)
    assert before.summary()["source"]["git_author"] is None
    assert R.AUTHOR not in R.to_labels(record(project))  # none given, none written


def test_differences_name_fields_never_values(project: stackup.Project, tmp_path: Path) -> None:
    files = load(tmp_path, STACK.replace("hi $$HOME", "hello").replace(
        "secrets:\n  token", "  extra: {image: busybox:local}\nsecrets:\n  token"),
        {"TOKEN": "other-" + CANARY})
    found = R.differences(files, project)
    assert found == ["extra: only in the stack files",
                     "web: environment.GREETING, secrets"], found
    assert R.differences(project, project) == []
    assert CANARY not in json.dumps(found) and "hello" not in json.dumps(found)
