"""Multi-file merge rules (Compose spec) and !reset / !override."""

from stackup.loader.located import LDict
from stackup.loader.merge import merge_documents, merge_services, strip_tags
from stackup.loader.yamlsrc import read_yaml


def merged(base: str, override: str) -> LDict:
    return merge_documents(read_yaml(base, "a.yaml"), read_yaml(override, "b.yaml"))


def web(base: str, override: str) -> LDict:
    indent = lambda t: "\n".join("    " + line for line in t.strip().splitlines())  # noqa: E731
    return merged(f"services:\n  web:\n{indent(base)}\n", f"services:\n  web:\n{indent(override)}\n"
                  )["services"]["web"]


def test_mappings_merge_and_scalars_replace() -> None:
    out = web("image: a\nrestart: always\ndeploy: {replicas: 2, labels: {x: '1'}}",
              "image: b\ndeploy: {resources: {limits: {cpus: '1'}}}")
    assert out["image"] == "b" and out["restart"] == "always"
    assert out["deploy"] == {"replicas": 2, "labels": {"x": "1"},
                             "resources": {"limits": {"cpus": "1"}}}


def test_command_entrypoint_healthcheck_test_replace() -> None:
    out = web("command: [a, b]\nentrypoint: [x]\nhealthcheck: {test: [CMD, a], retries: 3}",
              "command: [c]\nentrypoint: sh\nhealthcheck: {test: [CMD, b]}")
    assert out["command"] == ["c"] and out["entrypoint"] == "sh"
    assert out["healthcheck"] == {"test": ["CMD", "b"], "retries": 3}


def test_environment_list_and_map_merge_by_key() -> None:
    out = web("environment: [A=1, B=2, C]", "environment: {B: '3', D: '4'}")
    assert out["environment"] == {"A": "1", "B": "3", "C": None, "D": "4"}
    assert out["environment"].key_locs["B"].file == "b.yaml"
    assert out["environment"].key_locs["A"].file == "a.yaml"


def test_labels_extra_hosts_sysctls_build_args() -> None:
    out = web("labels: {a: '1'}\nextra_hosts: ['db:10.0.0.1']\nsysctls: [net.x=1]\n"
              "build: {context: ., args: [V=1]}",
              "labels: [b=2]\nextra_hosts: {db: 10.0.0.2, web: 10.0.0.3}\nsysctls: {net.y: 2}\n"
              "build: {args: {V: '2', W: '3'}}")
    assert out["labels"] == {"a": "1", "b": "2"}
    assert out["extra_hosts"] == {"db": "10.0.0.2", "web": "10.0.0.3"}
    assert out["sysctls"] == {"net.x": "1", "net.y": 2}
    assert out["build"] == {"context": ".", "args": {"V": "2", "W": "3"}}


def test_build_string_normalized() -> None:
    out = web("build: ./app", "build: {dockerfile: Dev.Dockerfile}")
    assert out["build"] == {"context": "./app", "dockerfile": "Dev.Dockerfile"}


def test_ports_merge_by_ip_published_target_protocol() -> None:
    out = web("ports: ['8080:80', '443', {target: 53, published: 53, protocol: udp}]",
              "ports: ['8080:80', '8080:80/udp', '127.0.0.1:8080:80', "
              "{target: 53, published: '53', protocol: udp, mode: host}]")
    assert out["ports"] == ["8080:80", "443",
                            {"target": 53, "published": "53", "protocol": "udp", "mode": "host"},
                            "8080:80/udp", "127.0.0.1:8080:80"]
    assert out["ports"].item_locs[0].file == "b.yaml"


def test_volumes_merge_by_target() -> None:
    out = web("volumes: ['./a:/data', 'cache:/cache:ro', '/anon']",
              "volumes: [{type: bind, source: ./b, target: /data}, '/anon', 'logs:/logs']")
    assert out["volumes"] == [{"type": "bind", "source": "./b", "target": "/data"},
                              "cache:/cache:ro", "/anon", "logs:/logs"]


def test_secrets_configs_merge_by_target_or_source() -> None:
    out = web("secrets: [a, {source: b, target: /x}]\nconfigs: [c]",
              "secrets: [{source: a, mode: 256}, b]\nconfigs: [c, d]")
    assert out["secrets"] == [{"source": "a", "mode": 256}, {"source": "b", "target": "/x"}, "b"]
    assert out["configs"] == ["c", "d"]


def test_string_lists_dedupe() -> None:
    out = web("dns: 1.1.1.1\nexpose: ['80']\ncap_add: [NET_ADMIN]\nprofiles: [a]",
              "dns: [1.1.1.1, 8.8.8.8]\nexpose: ['80', '81']\ncap_add: [NET_ADMIN, SYS_TIME]\n"
              "profiles: [b]")
    assert out["dns"] == ["1.1.1.1", "8.8.8.8"]
    assert out["expose"] == ["80", "81"]
    assert out["cap_add"] == ["NET_ADMIN", "SYS_TIME"]
    assert out["profiles"] == ["a", "b"]


def test_other_sequences_append() -> None:
    assert web("devices_x: [a]", "devices_x: [a, b]")["devices_x"] == ["a", "a", "b"]


def test_depends_on_and_networks_merge_by_name() -> None:
    out = web("depends_on: [db]\nnetworks: [front, back]",
              "depends_on: {cache: {condition: service_healthy}}\n"
              "networks: {back: {aliases: [api]}, extra: null}")
    assert out["depends_on"] == {"db": {"condition": "service_started"},
                                 "cache": {"condition": "service_healthy"}}
    assert out["networks"] == {"front": None, "back": {"aliases": ["api"]}, "extra": None}


def test_logging_driver_change_replaces() -> None:
    out = web("logging: {driver: json-file, options: {max-size: 1m}}",
              "logging: {driver: syslog}")
    assert out["logging"] == {"driver": "syslog"}
    same = web("logging: {driver: json-file, options: {max-size: 1m}}",
               "logging: {options: {max-file: '3'}}")
    assert same["logging"] == {"driver": "json-file", "options": {"max-size": "1m", "max-file": "3"}}


def test_reset_removes_and_override_replaces() -> None:
    out = web("ports: ['80']\nenvironment: {A: '1', B: '2'}\nimage: a",
              "ports: !reset []\nenvironment: !override {C: '3'}\nimage: !reset null")
    assert "ports" not in out and "image" not in out
    assert out["environment"] == {"C": "3"}


def test_reset_of_whole_service_and_new_service_with_tags() -> None:
    out = merged("services:\n  a: {image: x}\n  b: {image: y}\n",
                 "services:\n  a: !reset {}\n  c:\n    image: z\n    ports: !reset []\n"
                 "    labels: !override {k: v}\n")
    assert out["services"] == {"b": {"image": "y"}, "c": {"image": "z", "labels": {"k": "v"}}}


def test_top_level_resources_merge() -> None:
    out = merged("networks:\n  n: {driver: bridge, labels: [a=1]}\nvolumes:\n  v: {}\n",
                 "networks:\n  n: {labels: {b: '2'}}\nvolumes:\n  w: {}\n")
    assert out["networks"] == {"n": {"driver": "bridge", "labels": {"a": "1", "b": "2"}}}
    assert set(out["volumes"]) == {"v", "w"}


def test_inputs_are_not_mutated() -> None:
    base = read_yaml("services:\n  web: {environment: {A: '1'}}\n", "a.yaml")
    merge_documents(base, read_yaml("services:\n  web: {environment: {B: '2'}}\n", "b.yaml"))
    assert base["services"]["web"]["environment"] == {"A": "1"}


def test_strip_tags() -> None:
    tree = read_yaml("a: !reset [1]\nb: !override {x: [1]}\nc: {d: !reset 1, e: 2}\n", "f")
    out = strip_tags(tree)
    assert out == {"b": {"x": [1]}, "c": {"e": 2}}
    plain = read_yaml("a: {b: [1, 2]}\n", "f")
    assert strip_tags(plain) is plain


def test_merge_services() -> None:
    base = read_yaml("image: a\nenvironment: [A=1]\n", "a.yaml")
    own = read_yaml("environment: {B: '2'}\ncommand: run\n", "b.yaml")
    assert merge_services(base, own, "web") == {"image": "a", "environment": {"A": "1", "B": "2"},
                                                "command": "run"}
