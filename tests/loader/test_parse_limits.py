"""The Compose keys stackup applies since issue 20 (limits, cgroup and isolation modes,
annotations, label_file, attach, use_api_socket, pull refresh): parsed into the model with
located errors, printed by `config`, and the keys a single engine cannot run refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackup.core.errors import SpecError
from stackup.core.hashing import config_hash
from stackup.core.model import BlkioConfig, ThrottleDevice
from stackup.loader.loader import LoadOptions, load_project
from stackup.loader.serialize import to_compose_dict
from tests.loader.test_parse import error, parse, svc

KEYS = """
image: x
cpu_count: 2
cpu_percent: 50
cpu_period: 100000
cpu_quota: 50ms
cpu_rt_period: 1000000
cpu_rt_runtime: 10ms
mem_swappiness: 20
memswap_limit: 64m
oom_kill_disable: true
blkio_config:
  weight: 300
  weight_device: [{path: /dev/vda, weight: 400}]
  device_read_bps: [{path: /dev/vda, rate: 1mb}]
  device_write_iops: [{path: /dev/vda, rate: "30"}]
device_cgroup_rules: ["c 1:3 mr"]
storage_opt: {size: 1G}
uts: host
cgroup: private
isolation: default
annotations: [com.example.a=b]
credential_spec: {file: spec.json}
use_api_socket: true
attach: false
pull_policy: every_12h
"""


def test_every_key_reaches_the_model() -> None:
    s = svc(KEYS)
    assert (s.cpu_count, s.cpu_percent, s.cpu_period, s.cpu_quota) == (2, 50, 100000, 50000)
    assert (s.cpu_rt_period, s.cpu_rt_runtime) == (1000000, 10000)
    assert (s.mem_swappiness, s.memswap_limit, s.oom_kill_disable) == (20, 64 << 20, True)
    assert s.blkio_config == BlkioConfig(
        weight=300, weight_device=(ThrottleDevice("/dev/vda", 400),),
        device_read_bps=(ThrottleDevice("/dev/vda", 1 << 20),),
        device_write_iops=(ThrottleDevice("/dev/vda", 30),))
    assert s.device_cgroup_rules == ("c 1:3 mr",)
    assert dict(s.storage_opt) == {"size": "1G"}
    assert (s.uts, s.cgroup, s.isolation) == ("host", "private", "default")
    assert dict(s.annotations) == {"com.example.a": "b"}
    assert dict(s.credential_spec) == {"file": "spec.json"}
    assert s.use_api_socket and not s.attach and s.pull_policy == "every_12h"


def test_config_prints_them_and_reads_back_the_same() -> None:
    project = parse("services:\n  s:\n" + "".join(f"    {line}\n" for line in
                                                   KEYS.strip().splitlines()))
    printed = to_compose_dict(project)["services"]["s"]
    assert printed["blkio_config"]["weight_device"] == [{"path": "/dev/vda", "weight": 400}]
    assert printed["attach"] is False and printed["memswap_limit"] == 64 << 20
    import yaml

    again = parse(yaml.safe_dump({"services": {"s": printed}}))
    assert again.services["s"] == project.services["s"]


def test_memswap_unlimited_and_refresh_after() -> None:
    s = svc("image: x\nmemswap_limit: -1\npull_policy: refresh\npull_refresh_after: 2h")
    assert (s.memswap_limit, s.pull_policy, s.pull_refresh_after) == (-1, "refresh", 7200.0)


@pytest.mark.parametrize(("body", "words"), [
    ("mem_swappiness: 101", "from 0 to 100, found 101"),
    ("cpu_percent: 150", "from 0 to 100"),
    ("blkio_config: {weight: 5}", "from 10 to 1000, found 5"),
    ("blkio_config: {device_read_bps: [{path: /dev/x}]}", "expected 'rate'"),
    ("blkio_config: {wieght: 10}", "did you mean 'weight'"),
    ("cgroup: shared", "expected one of host, private"),
    ("pull_policy: every_soon", "pull_policy"),
])
def test_bad_values_are_located(body: str, words: str) -> None:
    found = error("services:\n  s:\n    image: x\n    " + body + "\n")
    assert words in str(found) and found.location is not None and found.location.line == 4


def test_attach_and_refresh_after_do_not_change_the_config_hash() -> None:
    plain = parse("services:\n  s:\n    image: x\n")
    quiet = parse("services:\n  s:\n    image: x\n    attach: false\n"
                  "    pull_policy: refresh\n    pull_refresh_after: 1h\n")
    limited = parse("services:\n  s:\n    image: x\n    mem_swappiness: 10\n")
    digest = config_hash(plain, plain.services["s"])[0]
    assert config_hash(quiet, quiet.services["s"])[0] == digest
    assert config_hash(limited, limited.services["s"])[0] != digest


def test_label_file_labels_under_the_services_own(tmp_path: Path) -> None:
    (tmp_path / "a.labels").write_text("# team\nteam=core\ntier=\"web\"\nshared=from-a\n")
    (tmp_path / "b.labels").write_text("shared=from-b\n")
    (tmp_path / "compose.yaml").write_text(
        "services:\n  s:\n    image: x\n    label_file: [./a.labels, b.labels]\n"
        "    labels: {tier: own}\n")
    project = load_project(LoadOptions(files=(str(tmp_path / "compose.yaml"),),
                                       project_name="demo", environ={})).project
    assert dict(project.services["s"].labels) == {"shared": "from-b", "team": "core",
                                                  "tier": "own"}


def test_a_missing_label_file_is_located() -> None:
    found = error("services:\n  s:\n    image: x\n    label_file: ./nope.labels\n")
    assert "cannot read label_file /proj/nope.labels" in str(found)
    assert found.location is not None and found.location.line == 4


@pytest.mark.parametrize("text", [
    "services:\n  s:\n    image: x\n    models: [llm]\n",
    "services:\n  s:\n    provider: {type: model}\n",
    "models:\n  llm: {model: ai/smollm2}\nservices: {}\n",
])
def test_keys_a_single_engine_cannot_run_are_refused_in_one_line(text: str) -> None:
    found = error(text)
    assert "not supported:" in str(found) and "instead" in str(found)
    assert "\n" not in found.summary


@pytest.mark.parametrize("remote", ["https://github.com/acme/stack.git",
                                    "oci://docker.io/acme/stack:1", "git@github.com:acme/s.git"])
def test_a_remote_include_is_refused_with_what_to_do(tmp_path: Path, remote: str) -> None:
    (tmp_path / "compose.yaml").write_text(f"include: ['{remote}']\nservices: {{}}\n")
    with pytest.raises(SpecError) as info:
        load_project(LoadOptions(files=(str(tmp_path / "compose.yaml"),), project_name="demo",
                                 environ={}))
    assert f"remote include {remote} is not supported" in str(info.value)
    assert "include the local file instead" in str(info.value)


def test_a_swarm_refuses_the_single_engine_limits_rather_than_dropping_them() -> None:
    from stackup.swarm.check import refusals

    project = parse("services:\n  s:\n" + "".join(f"    {line}\n" for line in
                                                   KEYS.strip().splitlines()))
    refused = {r.path.rpartition(".")[2] for r in refusals(project)}
    assert refused >= {"cpu_period", "mem_swappiness", "blkio_config", "uts", "cgroup",
                       "annotations", "use_api_socket", "storage_opt"}
    assert "attach" not in refused and "pull_policy" not in refused
    assert refusals(parse("services:\n  s:\n    image: x\n")) == []
