"""hashing: what forces a recreate, what does not, and readable diffs."""

from __future__ import annotations

import dataclasses
import hashlib
import json

from stackup.core.hashing import canonical_config, config_hash, content_digest, diff_configs
from stackup.core.model import (BuildSpec, Dependency, Deploy, FileObject, FileReference, FrozenMap,
                           Mount, Network, Port, Project, Service, ServiceNetwork, Volume)


def _project(service: Service, **kw: object) -> Project:
    return Project("demo", "/w", services=FrozenMap({service.name: service}),
                   networks=FrozenMap({"default": Network("default", "demo_default"),
                                       "back": Network("back", "shared-back")}),
                   volumes=FrozenMap({"data": Volume("data", "demo_data")}),
                   secrets=FrozenMap({"token": FileObject("token", "demo_token",
                                                          file="/w/token.txt")}), **kw)


BASE = Service("web", image="nginx", environment=FrozenMap({"VERSION": "1", "A": "x"}),
               networks=(ServiceNetwork("back"),),
               volumes=(Mount("volume", "/data", "data"),),
               secrets=(FileReference("token"),))


def test_references_resolve_to_engine_names_and_files() -> None:
    config = canonical_config(_project(BASE), BASE)
    assert config["networks"] == [{"name": "shared-back"}]
    assert config["volumes"][0]["source"] == "demo_data"
    assert config["secrets"] == [{"source": "token", "object": {"sha256": None}}]  # unread
    assert list(config) == sorted(config)
    assert list(config["environment"]) == ["A", "VERSION"]


def test_hash_is_stable_and_json_round_trips() -> None:
    digest, text = config_hash(_project(BASE), BASE)
    assert (digest, text) == config_hash(_project(BASE), BASE)
    assert len(digest) == 64
    assert json.loads(text) == canonical_config(_project(BASE), BASE)


def test_settings_that_do_not_force_a_recreate() -> None:
    digest, _ = config_hash(_project(BASE), BASE)
    variants = [
        dataclasses.replace(BASE, depends_on=(Dependency("db"),)),
        dataclasses.replace(BASE, scale=3),
        dataclasses.replace(BASE, deploy=Deploy(replicas=4)),
        dataclasses.replace(BASE, build=BuildSpec("/w")),
        dataclasses.replace(BASE, pull_policy="always"),
        dataclasses.replace(BASE, profiles=("debug",)),
        dataclasses.replace(BASE, extensions=FrozenMap({"x-note": 1})),
    ]
    for variant in variants:
        assert config_hash(_project(variant), variant)[0] == digest, variant


def test_settings_that_force_a_recreate() -> None:
    digest, _ = config_hash(_project(BASE), BASE)
    variants = [
        dataclasses.replace(BASE, environment=FrozenMap({"VERSION": "2", "A": "x"})),
        dataclasses.replace(BASE, ports=(Port(80, "8080"),)),
        dataclasses.replace(BASE, command=("sleep", "1")),
        dataclasses.replace(BASE, deploy=Deploy(labels=FrozenMap({"a": "b"}))),
        dataclasses.replace(BASE, image="nginx:2"),
    ]
    for variant in variants:
        assert config_hash(_project(variant), variant)[0] != digest, variant


def test_secret_content_change_forces_a_recreate() -> None:
    before = _project(BASE)
    after = dataclasses.replace(before, secrets=FrozenMap(
        {"token": FileObject("token", "demo_token", content="new")}))
    assert config_hash(before, BASE)[0] != config_hash(after, BASE)[0]


def _with_secret(obj: FileObject) -> Project:
    return dataclasses.replace(_project(BASE), secrets=FrozenMap({"token": obj}))


def test_secret_content_is_never_in_the_canonical_config() -> None:
    canary = "s3cr3t-canary-7f1e"
    for obj in (FileObject("token", "demo_token", content=canary),
                FileObject("token", "demo_token", environment="TOKEN", content=canary)):
        digest, text = config_hash(_with_secret(obj), BASE)
        assert canary not in text and "TOKEN" not in text
        assert json.loads(text)["secrets"][0]["object"] == {
            "sha256": content_digest("secret", obj)}
        assert hashlib.sha256(canary.encode()).hexdigest() not in text  # salted by the key


def test_file_bytes_decide_the_hash_not_the_path() -> None:
    raw = hashlib.sha256(b"from-file").hexdigest()
    here = config_hash(_with_secret(FileObject("token", "t", file="/w/token.txt", digest=raw)),
                       BASE)[0]
    elsewhere = config_hash(_with_secret(FileObject("token", "t", file="/ci/run-9/token.txt",
                                                    digest=raw)), BASE)[0]
    edited = config_hash(_with_secret(FileObject(
        "token", "t", file="/w/token.txt", digest=hashlib.sha256(b"edited").hexdigest())), BASE)[0]
    inline = config_hash(_with_secret(FileObject("token", "t", content="from-file")), BASE)[0]
    assert here == elsewhere == inline  # another runner's checkout, or content: → no recreate
    assert edited != here


def test_build_only_service_hashes_its_image_ref() -> None:
    service = Service("app", build=BuildSpec("/w"))
    assert canonical_config(_project(service), service)["image"] == "demo-app"


def test_diff_names_changed_keys() -> None:
    old = {"environment": {"VERSION": "1", "A": "x"}, "ports": [{"target": 80}], "image": "a"}
    new = {"environment": {"VERSION": "2", "A": "x", "B": "y"}, "ports": [{"target": 81}],
           "image": "a", "command": ["x"]}
    assert diff_configs(old, new) == ["command", "environment.B", "environment.VERSION", "ports"]
    assert diff_configs(new, new) == []
    assert diff_configs({"labels": ("a",)}, {"labels": ["a"]}) == []
