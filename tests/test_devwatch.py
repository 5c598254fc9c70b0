"""``develop.watch``: the loader's model of it, and what a batch of file changes makes
``stackup watch`` do (``app.devwatch.decide``, pure)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from stackup.app.devwatch import (Copy, Remove, decide, initial_syncs, matches,
                                  watched_paths)
from stackup.core.errors import SpecError
from stackup.core.hashing import config_hash
from stackup.core.model import Project
from stackup.loader.loader import LoadOptions, load_project

STACK = """
services:
  web:
    image: busybox:local
    develop:
      watch:
        - path: ./src
          action: sync
          target: /app
          ignore: ["*.tmp", "node_modules/", "/build"]
        - path: ./conf
          action: sync+restart
          target: /etc/web
        - path: ./hooks
          action: sync+exec
          target: /hooks
          exec:
            command: sh -c "echo reloaded"
            user: root
            environment: {MODE: dev}
        - path: ./src/static
          action: sync
          target: /static
          include: ["*.css"]
          initial_sync: true
  api:
    build: ./api
    develop:
      watch:
        - path: ./api/requirements.txt
          action: rebuild
  worker:
    image: stk-api
  db:
    image: busybox:local
"""


def load(tmp_path: Path, text: str = STACK) -> Project:
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(text))
    (tmp_path / "api").mkdir(exist_ok=True)
    options = LoadOptions(files=(str(tmp_path / "compose.yaml"),), project_name="stk",
                          environ={})
    return load_project(options).project


def test_develop_is_parsed_with_paths_made_absolute(tmp_path: Path) -> None:
    project = load(tmp_path)
    develop = project.services["web"].develop
    assert develop is not None
    sync, restart, execute, static = develop.watch
    assert (sync.path, sync.action, sync.target) == (str(tmp_path / "src"), "sync", "/app")
    assert sync.ignore == ("*.tmp", "node_modules/", "/build")
    assert restart.action == "sync+restart"
    assert execute.exec is not None and execute.exec.command == ("sh", "-c", "echo reloaded")
    assert execute.exec.user == "root" and dict(execute.exec.environment) == {"MODE": "dev"}
    assert static.include == ("*.css",) and static.initial_sync
    assert project.services["db"].develop is None


def test_develop_is_not_part_of_the_config_hash(tmp_path: Path) -> None:
    with_rules = load(tmp_path)
    without = load(tmp_path, STACK.replace("    develop:", "    x-develop:"))
    assert without.services["web"].develop is None
    for name in ("web", "api"):
        assert config_hash(with_rules, with_rules.services[name]) == \
            config_hash(without, without.services[name])


@pytest.mark.parametrize("rule, message", [
    ("{path: ./src, action: sync}", "action 'sync' needs 'target'"),
    ("{path: ./src, action: sync+exec, target: /a}", "action 'sync+exec' needs 'exec'"),
    ("{path: ./src, action: synk, target: /a}", "did you mean 'sync'?"),
    ("{action: rebuild}", "a watch rule needs 'path'"),
    ("{path: ./src, action: rebuild, ignored: [x]}", "unknown key 'ignored'"),
])
def test_a_wrong_rule_is_an_error_with_its_line(tmp_path: Path, rule: str,
                                                 message: str) -> None:
    text = f"""
services:
  web:
    image: busybox:local
    develop:
      watch:
        - {rule}
"""
    with pytest.raises(SpecError) as caught:
        load(tmp_path, text)
    assert message in str(caught.value)
    assert caught.value.location is not None and caught.value.location.line == 7


@pytest.mark.parametrize("patterns, path, expected", [
    (["*.tmp"], "a.tmp", True),
    (["*.tmp"], "deep/down/a.tmp", True),
    (["*.tmp"], "a.txt", False),
    (["node_modules/"], "node_modules/x/y.js", True),
    (["node_modules/"], "node_modules", False),  # may be a file: only folders above count
    (["/build"], "build/out.o", True),
    (["/build"], "src/build/out.o", False),
    (["docs/**/*.md"], "docs/a/b/c.md", True),
    (["docs/**/*.md"], "docs/c.md", True),
    (["*.log", "!keep.log"], "keep.log", False),
    (["*.log", "!keep.log"], "other.log", True),
    (["# a comment", ""], "x", False),
])
def test_patterns_are_gitignore_style(patterns: list[str], path: str, expected: bool) -> None:
    assert matches(patterns, path) is expected


def test_sync_copies_changed_files_and_removes_deleted_ones(tmp_path: Path) -> None:
    project = load(tmp_path)
    src = tmp_path / "src"
    actions = decide(project, [("modified", str(src / "a.py")), ("added", str(src / "new/b.py")),
                               ("deleted", str(src / "old.py")),
                               ("modified", str(src / "scratch.tmp")),
                               ("added", str(src / "node_modules/x/y.js")),
                               ("modified", str(tmp_path / "elsewhere.py"))])
    assert [(c.service, c.host_path, c.container_path) for c in actions.copies] == [
        ("web", str(src / "a.py"), "/app/a.py"),
        ("web", str(src / "new/b.py"), "/app/new/b.py")]
    assert actions.removals == (Remove("web", "/app/old.py"),)
    assert not (actions.restarts or actions.execs or actions.rebuilds)


def test_the_last_change_of_a_path_in_a_batch_wins(tmp_path: Path) -> None:
    project = load(tmp_path)
    path = str(tmp_path / "src" / "a.py")
    deleted = decide(project, [("modified", path), ("deleted", path)])
    assert deleted.removals == (Remove("web", "/app/a.py"),) and not deleted.copies
    back = decide(project, [("deleted", path), ("added", path)])
    assert back.copies == (Copy("web", path, "/app/a.py"),) and not back.removals


def test_a_folder_copied_whole_carries_what_it_holds(tmp_path: Path) -> None:
    project = load(tmp_path)
    src = tmp_path / "src"
    actions = decide(project, [("added", str(src / "d")), ("added", str(src / "d/e")),
                               ("added", str(src / "d/e/f.txt"))])
    assert actions.copies == (Copy("web", str(src / "d"), "/app/d"),)


def test_include_narrows_a_rule_and_rules_overlap(tmp_path: Path) -> None:
    project = load(tmp_path)
    static = tmp_path / "src" / "static"
    actions = decide(project, [("modified", str(static / "site.css")),
                               ("modified", str(static / "site.js"))])
    assert sorted(c.container_path for c in actions.copies) == [
        "/app/static/site.css", "/app/static/site.js", "/static/site.css"]


def test_sync_restart_and_sync_exec(tmp_path: Path) -> None:
    project = load(tmp_path)
    actions = decide(project, [("modified", str(tmp_path / "conf/web.ini")),
                               ("added", str(tmp_path / "hooks/h.sh"))])
    assert [c.container_path for c in actions.copies] == ["/etc/web/web.ini", "/hooks/h.sh"]
    assert actions.restarts == ("web",)
    assert [(s, h.command) for s, h in actions.execs] == [("web", ("sh", "-c",
                                                                   "echo reloaded"))]


def test_a_rebuild_recreates_every_service_running_the_image(tmp_path: Path) -> None:
    """api builds stk-api; worker runs stk-api: both are recreated, db is not."""
    project = load(tmp_path)
    actions = decide(project, [("modified", str(tmp_path / "api/requirements.txt"))])
    assert actions.rebuilds == ("api",)
    assert actions.recreates == ("api", "worker")
    assert not (actions.copies or actions.removals or actions.restarts)


def test_a_dockerignored_file_does_not_rebuild(tmp_path: Path) -> None:
    text = """
services:
  api:
    build: ./api
    develop:
      watch:
        - {path: ./api, action: rebuild}
"""
    project = load(tmp_path, text)
    api = str(tmp_path / "api")
    ignore = {"api": (api, ("*.md",))}
    assert decide(project, [("modified", f"{api}/README.md")], dockerignore=ignore).empty
    assert decide(project, [("modified", f"{api}/app.py")],
                  dockerignore=ignore).rebuilds == ("api",)


def test_only_the_services_named_are_watched(tmp_path: Path) -> None:
    project = load(tmp_path)
    change = [("modified", str(tmp_path / "src/a.py"))]
    assert decide(project, change, services=["api"]).empty
    assert not decide(project, change, services=["web"]).empty
    assert watched_paths(project, ["api"]) == [str(tmp_path / "api/requirements.txt")]


def test_initial_sync_copies_the_rule_path_once(tmp_path: Path) -> None:
    project = load(tmp_path)
    first = initial_syncs(project)
    assert [(c.host_path, c.container_path) for c in first.copies] == [
        (str(tmp_path / "src/static"), "/static")]


def test_a_folder_is_sent_whole_without_what_its_rule_ignores(tmp_path: Path) -> None:
    import io
    import tarfile

    from stackup.app.devwatch_sync import tar_of

    (tmp_path / "d" / "e").mkdir(parents=True)
    (tmp_path / "d" / "e" / "f.txt").write_text("deep\n")
    (tmp_path / "d" / "skip.tmp").write_text("no\n")
    data = tar_of(str(tmp_path / "d"), "/app/d", keep=lambda p: not p.endswith(".tmp"))
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        names = archive.getnames()
        f = archive.extractfile("app/d/e/f.txt")
        assert f is not None and f.read() == b"deep\n"
    assert names == ["app/d", "app/d/e", "app/d/e/f.txt"]


def test_the_watcher_follows_folders_not_files(tmp_path: Path) -> None:
    """A rule on a file watches its folder (an editor that replaces the file would end a watch
    on the file itself); nested folders are watched once."""
    from stackup.app.devwatch_loop import _roots

    (tmp_path / "src" / "deep").mkdir(parents=True)
    (tmp_path / "Dockerfile").write_text("FROM x\n")
    assert _roots([str(tmp_path / "Dockerfile"), str(tmp_path / "src"),
                   str(tmp_path / "src" / "deep")]) == [str(tmp_path)]
    # a path that does not exist yet: its nearest existing folder
    assert _roots([str(tmp_path / "src" / "deep"), str(tmp_path / "missing" / "x")]) == [
        str(tmp_path)]
