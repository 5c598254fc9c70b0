"""oneoff_spec: what `stackup run` changes on a service and on its container-create arguments."""

from __future__ import annotations

from stackup.core import labels as L
from stackup.adapters.docker.container_spec import container_create_args
from stackup.adapters.docker.oneoff_spec import (OneoffOptions, oneoff_create_args, oneoff_networks,
                                        oneoff_service)
from stackup.core.model import (Deploy, FrozenMap, Mount, Network, Port, Project, RestartPolicy,
                           Service, ServiceNetwork)

WEB = Service("web", image="img:1", command=("serve",), entrypoint=("/init",),
              environment=FrozenMap({"A": "1", "B": "2"}), ports=(Port(80, "8080"),),
              volumes=(Mount("volume", "/data", "data"), Mount("bind", "/src", "/host/src")),
              restart="always", deploy=Deploy(restart_policy=RestartPolicy("any")),
              networks=(ServiceNetwork("back", aliases=("api",)), ServiceNetwork("default")),
              labels=FrozenMap({"team": "a"}), container_name="fixed", user="app")
PROJECT = Project("proj", "/w", services=FrozenMap({"web": WEB}),
                  networks=FrozenMap({"default": Network("default", "proj_default"),
                                      "back": Network("back", "proj_back")}))


def test_defaults_drop_ports_restart_and_fixed_name_keep_the_rest() -> None:
    runs = oneoff_service(WEB, OneoffOptions())
    assert runs.ports == () and runs.restart is None and runs.container_name is None
    assert runs.deploy is not None and runs.deploy.restart_policy is None
    assert (runs.command, runs.entrypoint, runs.user) == (("serve",), ("/init",), "app")
    assert runs.stdin_open and not runs.tty
    assert runs.volumes == WEB.volumes and runs.environment == WEB.environment


def test_command_line_overrides() -> None:
    options = OneoffOptions(command=("sh", "-c", "env"), environment=FrozenMap({"B": "x"}),
                            labels=FrozenMap({"why": "debug"}), workdir="/tmp", user="0",
                            volumes=(Mount("bind", "/src", "/elsewhere"),), tty=True)
    runs = oneoff_service(WEB, options)
    assert runs.command == ("sh", "-c", "env")
    assert dict(runs.environment) == {"A": "1", "B": "x"}
    assert dict(runs.labels) == {"team": "a", "why": "debug"}
    assert (runs.working_dir, runs.user, runs.tty) == ("/tmp", "0", True)
    assert runs.volumes == (Mount("volume", "/data", "data"), Mount("bind", "/src", "/elsewhere"))


def test_entrypoint_without_command_drops_the_service_command() -> None:
    runs = oneoff_service(WEB, OneoffOptions(entrypoint=("sh", "-c")))
    assert (runs.entrypoint, runs.command) == (("sh", "-c"), ())
    runs = oneoff_service(WEB, OneoffOptions(entrypoint=("sh", "-c"), command=("echo hi",)))
    assert runs.command == ("echo hi",)


def test_ports_only_when_asked() -> None:
    assert oneoff_service(WEB, OneoffOptions(service_ports=True)).ports == WEB.ports
    assert oneoff_service(WEB, OneoffOptions(publish=(Port(9, "9999"),))).ports == (
        Port(9, "9999"),)


def _args(options: OneoffOptions) -> tuple[dict, dict, list]:  # type: ignore[type-arg]
    runs = oneoff_service(WEB, options)
    base = container_create_args(PROJECT, runs, 1, name="proj-web-run-1", config_hash="h",
                                 config_json="{}", image="img:1", oneoff=True)
    args, raw = oneoff_create_args(base, runs, "proj-web-run-1", options)
    return args, raw, oneoff_networks(PROJECT, runs, "proj-web-run-1", options)


def test_attached_run_keeps_stdin_open_and_only_its_own_alias() -> None:
    args, raw, extra = _args(OneoffOptions(remove=True))
    assert args["labels"][L.ONEOFF] == "True" and args["host_config"]["AutoRemove"] is True
    assert "RestartPolicy" not in args["host_config"] and "PortBindings" not in args["host_config"]
    assert raw == {"Tty": False, "OpenStdin": True, "StdinOnce": True, "AttachStdin": True,
                   "AttachStdout": True, "AttachStderr": True}
    endpoints = args["networking_config"]["EndpointsConfig"]
    assert endpoints == {"proj_back": {"Aliases": ["proj-web-run-1"]}}
    assert extra == [("proj_default", {"aliases": ["proj-web-run-1"]})]


def test_use_aliases_and_detach() -> None:
    args, raw, extra = _args(OneoffOptions(use_aliases=True, detach=True))
    assert args["networking_config"]["EndpointsConfig"]["proj_back"]["Aliases"] == [
        "proj-web-run-1", "web", "api"]
    assert extra == [("proj_default", {"aliases": ["proj-web-run-1", "web"]})]
    assert "AutoRemove" not in args["host_config"]
    assert raw["OpenStdin"] and not raw["AttachStdin"] and not raw["StdinOnce"]
    assert not raw["AttachStdout"]
