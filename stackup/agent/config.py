"""``agent.yaml``: what the agent follows and how, read once at start-up.

Pipeline position: the first thing ``stackup agent`` does. Every problem is an
``AgentConfigError`` naming the file, the line and the key (``agent.yaml:7: stacks[0].approve:
...``), before anything runs. Secrets never live in the file: it names environment variables
(``api_token_env``, ``webhook_secret_env``, ``git_token_env``, ``ssh_key_env``) and their values
are read from ``environ`` here, kept out of ``repr`` and never rendered.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from stackup.core.errors import StackupError

APPROVE_MODES = ("auto", "non-destructive", "manual")
ON_FAILURE = ("rollback", "stay")
TARGETS = ("engine", "swarm")  # one engine's containers; a Swarm's services (``targets``)
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class AgentConfigError(StackupError):
    """agent.yaml is wrong: the message names the file, line and key."""


@dataclass(frozen=True, slots=True)
class StackConfig:
    name: str
    repo: str
    branch: str = "main"
    path: str = "."  # folder in the repository holding the stack file(s)
    files: tuple[str, ...] = ()  # as -f, relative to ``path``
    env_files: tuple[str, ...] = ()  # as --env-file, relative to ``path``
    project: str | None = None  # as -p
    target: str = "engine"
    interval: float = 60.0  # seconds between polls; 0: webhooks and manual syncs only
    approve: str = "auto"
    on_failure: str = "rollback"
    heal: bool = False
    wait_timeout: float = 300.0  # seconds the services may take to become healthy
    git_token: str | None = field(default=None, repr=False)  # from ``git_token_env``
    ssh_key: str | None = field(default=None, repr=False)  # from ``ssh_key_env``
    webhook_secret: str | None = field(default=None, repr=False)  # overrides the agent's


@dataclass(frozen=True, slots=True)
class Notifier:
    url: str = field(repr=False)  # a webhook URL is often itself a secret
    timeout: float = 5.0
    retries: int = 3


@dataclass(frozen=True, slots=True)
class AgentConfig:
    source: str
    host: str
    port: int
    state_dir: str
    stacks: tuple[StackConfig, ...]
    notify: tuple[Notifier, ...] = ()
    api_token: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    max_body: int = 1 << 20  # webhook request bodies larger than this are refused (413)

    def stack(self, name: str) -> StackConfig | None:
        return next((s for s in self.stacks if s.name == name), None)


# --- reading -------------------------------------------------------------------------------------


class _Node:
    """A YAML node with its line, for messages."""

    def __init__(self, node: yaml.Node, source: str, path: str) -> None:
        self.node, self.source, self.path = node, source, path

    def error(self, message: str) -> AgentConfigError:
        line = self.node.start_mark.line + 1
        where = f"{self.source}:{line}: {self.path or '(top level)'}"
        return AgentConfigError(f"{where}: {message}")  # the place is in the summary

    def mapping(self) -> dict[str, _Node]:
        if not isinstance(self.node, yaml.MappingNode):
            raise self.error("must be a mapping")
        out: dict[str, _Node] = {}
        for key, value in self.node.value:
            name = str(key.value)
            sub = f"{self.path}.{name}" if self.path else name
            if name in out:
                raise _Node(key, self.source, sub).error("appears twice")
            out[name] = _Node(value, self.source, sub)
        return out

    def items(self) -> list[_Node]:
        if not isinstance(self.node, yaml.SequenceNode):
            raise self.error("must be a list")
        return [_Node(v, self.source, f"{self.path}[{i}]") for i, v in enumerate(self.node.value)]

    def text(self) -> str:
        if not isinstance(self.node, yaml.ScalarNode) or self.node.value == "":
            raise self.error("must be a non-empty string")
        return str(self.node.value)

    def choice(self, allowed: tuple[str, ...], hint: str = "") -> str:
        value = self.text()
        if value not in allowed:
            raise self.error(f"must be one of {', '.join(allowed)} (found {value!r}){hint}")
        return value

    def boolean(self) -> bool:
        value = yaml.safe_load(yaml.serialize(self.node)) if isinstance(
            self.node, yaml.ScalarNode) else None
        if not isinstance(value, bool):
            raise self.error(f"must be true or false (found {self.node.value!r})")
        return value

    def strings(self) -> tuple[str, ...]:
        if isinstance(self.node, yaml.ScalarNode):
            return (self.text(),)
        return tuple(item.text() for item in self.items())

    def seconds(self) -> float:
        value = self.text()
        match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", value.strip())
        if match is None:
            raise self.error(f"must be a duration like 30s, 5m or 0 (found {value!r})")
        scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[match.group(2)]
        return float(match.group(1)) * scale

    def secret(self, environ: Mapping[str, str]) -> str:
        """The value of the environment variable this key names (never the secret itself)."""
        name = self.text()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise self.error(f"must name an environment variable (found {name!r}); the "
                             f"secret itself never goes into the file")
        value = environ.get(name)
        if not value:
            raise self.error(f"the environment variable {name} is not set")
        return value


def _unknown(keys: dict[str, _Node], allowed: set[str]) -> None:
    for key, node in keys.items():
        if key not in allowed:
            import difflib

            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise node.error(f"unknown key{hint}")


_STACK_KEYS = {"name", "repo", "branch", "path", "files", "env_files", "project", "target",
               "interval", "approve", "on_failure", "heal", "wait_timeout", "git_token_env",
               "ssh_key_env", "webhook_secret_env"}
_TOP_KEYS = {"listen", "state_dir", "stacks", "notify", "api_token_env", "webhook_secret_env",
             "max_body"}


def _stack(node: _Node, environ: Mapping[str, str]) -> StackConfig:
    keys = node.mapping()
    _unknown(keys, _STACK_KEYS)
    for required in ("name", "repo"):
        if required not in keys:
            raise node.error(f"needs {required!r}")
    name = keys["name"].text()
    if not NAME.match(name):
        raise keys["name"].error("must be lowercase letters, digits, '-' and '_'")
    values: dict[str, Any] = {"name": name, "repo": keys["repo"].text()}
    for key in ("branch", "path", "project"):
        if key in keys:
            values[key] = keys[key].text()
    if "path" in keys and (values["path"].startswith("/") or ".." in values["path"].split("/")):
        raise keys["path"].error("must be a folder inside the repository")
    for key in ("files", "env_files"):
        if key in keys:
            values[key] = keys[key].strings()
    choices = {"target": TARGETS, "approve": APPROVE_MODES, "on_failure": ON_FAILURE}
    for key, allowed in choices.items():
        if key in keys:
            values[key] = keys[key].choice(allowed)
    for key in ("interval", "wait_timeout"):
        if key in keys:
            values[key] = keys[key].seconds()
    if "heal" in keys:
        values["heal"] = keys["heal"].boolean()
    secrets = {"git_token_env": "git_token", "ssh_key_env": "ssh_key",
               "webhook_secret_env": "webhook_secret"}
    for key, attribute in secrets.items():
        if key in keys:
            values[attribute] = keys[key].secret(environ)
    return StackConfig(**values)


def _listen(node: _Node) -> tuple[str, int]:
    host, sep, port = node.text().rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise node.error("must be HOST:PORT, like 127.0.0.1:9090")
    return host.strip("[]") or "127.0.0.1", int(port)


def parse_config(text: str, source: str, environ: Mapping[str, str], *,
                 default_state_dir: str) -> AgentConfig:
    """The configuration in ``text`` (read from ``source``); secrets from ``environ``."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise AgentConfigError(f"{source}{line}: not valid YAML: "
                               f"{getattr(exc, 'problem', None) or exc}") from None
    if root is None:
        raise AgentConfigError(f"{source}: the file is empty", detail="It needs `stacks:`.")
    top = _Node(root, source, "")
    keys = top.mapping()
    _unknown(keys, _TOP_KEYS)
    host, port = _listen(keys["listen"]) if "listen" in keys else ("127.0.0.1", 9090)
    if "stacks" not in keys:
        raise top.error("needs 'stacks' (a list of the stacks to follow)")
    stacks = tuple(_stack(item, environ) for item in keys["stacks"].items())
    seen: set[str] = set()
    for item, stack in zip(keys["stacks"].items(), stacks):
        if stack.name in seen:
            raise item.error(f"a second stack named {stack.name!r}")
        seen.add(stack.name)
    notify = []
    for item in keys["notify"].items() if "notify" in keys else []:
        entry = item.mapping()
        _unknown(entry, {"url", "url_env", "timeout", "retries"})
        if ("url" in entry) == ("url_env" in entry):
            raise item.error("needs either 'url' or 'url_env'")
        url = entry["url"].text() if "url" in entry else entry["url_env"].secret(environ)
        if not url.startswith(("http://", "https://")):
            raise (entry.get("url") or item).error("must be an http:// or https:// URL")
        retries = int(entry["retries"].text()) if "retries" in entry else 3
        notify.append(Notifier(url, entry["timeout"].seconds() if "timeout" in entry else 5.0,
                               retries))
    max_body = 1 << 20
    if "max_body" in keys:
        if not keys["max_body"].text().isdigit():
            raise keys["max_body"].error("must be a number of bytes")
        max_body = int(keys["max_body"].text())
    return AgentConfig(
        source=source, host=host, port=port,
        state_dir=keys["state_dir"].text() if "state_dir" in keys else default_state_dir,
        stacks=stacks, notify=tuple(notify),
        api_token=keys["api_token_env"].secret(environ) if "api_token_env" in keys else None,
        webhook_secret=(keys["webhook_secret_env"].secret(environ)
                        if "webhook_secret_env" in keys else None),
        max_body=max_body)


def load_config(path: str, environ: Mapping[str, str]) -> AgentConfig:
    """Read and check ``path``; ``AgentConfigError`` says what is wrong, where."""
    import os

    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise AgentConfigError(f"cannot read the agent configuration {path}: "
                               f"{exc.strerror}") from None
    default = os.path.join(os.path.dirname(os.path.abspath(path)), ".stackup-agent")
    return parse_config(text, path, environ, default_state_dir=default)
