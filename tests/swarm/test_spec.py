"""swarm.spec: a service of a stack file → the ServiceSpec the engine API takes."""

from __future__ import annotations

from pathlib import Path

from stackup.core.swarm_objects import network_spec, object_name, owned, salted_digest
from stackup.swarm.spec import service_spec

from tests.swarm.helpers import load

S = 1_000_000_000


def spec_of(tmp_path: Path, text: str, service: str = "web", **kw: object) -> dict:
    project, _ = load(tmp_path, text)
    return service_spec(project, project.services[service],
                        secret_names=kw.get("secrets", {}),  # type: ignore[arg-type]
                        config_names=kw.get("configs", {}),  # type: ignore[arg-type]
                        replicas=kw.get("replicas"))  # type: ignore[arg-type]


def test_a_full_service_maps_field_by_field(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, """
        name: demo
        services:
          web:
            image: busybox:local
            command: ["httpd", "-f"]
            entrypoint: ["/bin/sh", "-c"]
            environment: {B: "2", A: "1"}
            user: "1000"
            working_dir: /srv
            labels: {tier: front}
            stop_grace_period: 2s
            healthcheck:
              test: ["CMD", "true"]
              interval: 1s
              retries: 3
            ports:
              - target: 80
                published: 8080
                mode: host
            volumes:
              - data:/data:ro
              - type: tmpfs
                target: /cache
                tmpfs: {size: 1048576}
            deploy:
              mode: replicated
              replicas: 3
              labels: {team: a}
              endpoint_mode: dnsrr
              resources:
                limits: {cpus: "0.5", memory: 64M, pids: 100}
                reservations: {memory: 32M}
              restart_policy: {condition: on-failure, delay: 1s, max_attempts: 2}
              update_config: {parallelism: 2, delay: 1s, order: start-first, monitor: 2s,
                              failure_action: rollback}
              rollback_config: {parallelism: 1}
              placement:
                constraints: ["node.role == manager"]
        volumes:
          data: {}
    """)
    assert spec["Name"] == "demo_web"
    labels = spec["Labels"]
    assert labels["team"] == "a"
    assert labels["io.stackup.project"] == "demo" and labels["io.stackup.target"] == "swarm"
    assert labels["com.docker.stack.namespace"] == "demo"
    assert labels["com.docker.stack.image"] == "busybox:local"
    task = spec["TaskTemplate"]
    c = task["ContainerSpec"]
    assert c["Image"] == "busybox:local"
    assert c["Command"] == ["/bin/sh", "-c"] and c["Args"] == ["httpd", "-f"]
    assert c["Env"] == ["A=1", "B=2"]
    assert c["User"] == "1000" and c["Dir"] == "/srv"
    assert c["Labels"] == {"tier": "front", "com.docker.stack.namespace": "demo"}
    assert c["StopGracePeriod"] == 2 * S
    assert c["Healthcheck"] == {"Test": ["CMD", "true"], "Interval": S, "Retries": 3}
    assert c["Mounts"][0] == {
        "Type": "volume", "Source": "demo_data", "Target": "/data", "ReadOnly": True,
        "VolumeOptions": {"Labels": {"io.stackup.project": "demo", "io.stackup.target": "swarm",
                                     "com.docker.stack.namespace": "demo",
                                     "io.stackup.volume": "data"}}}
    assert c["Mounts"][1] == {"Type": "tmpfs", "Target": "/cache",
                              "TmpfsOptions": {"SizeBytes": 1048576}}
    assert task["Resources"] == {"Limits": {"NanoCPUs": S // 2, "MemoryBytes": 64 * 2**20,
                                            "Pids": 100},
                                 "Reservations": {"MemoryBytes": 32 * 2**20}}
    assert task["RestartPolicy"] == {"Condition": "on-failure", "Delay": S, "MaxAttempts": 2}
    assert task["Placement"] == {"Constraints": ["node.role == manager"]}
    assert task["Networks"] == [{"Target": "demo_default", "Aliases": ["web"]}]
    assert spec["Mode"] == {"Replicated": {"Replicas": 3}}
    assert spec["UpdateConfig"] == {"Parallelism": 2, "Delay": S, "Order": "start-first",
                                    "Monitor": 2 * S, "FailureAction": "rollback"}
    assert spec["RollbackConfig"] == {"Parallelism": 1}
    assert spec["EndpointSpec"] == {"Mode": "dnsrr", "Ports": [
        {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080, "PublishMode": "host"}]}


def test_modes_scale_and_restart(tmp_path: Path) -> None:
    text = """
        name: demo
        services:
          web: {image: x, scale: 2, restart: "on-failure:3"}
          agent: {image: x, deploy: {mode: global}}
          job: {image: x, deploy: {mode: replicated-job, replicas: 2}}
    """
    assert spec_of(tmp_path, text)["Mode"] == {"Replicated": {"Replicas": 2}}
    assert spec_of(tmp_path, text, replicas=5)["Mode"] == {"Replicated": {"Replicas": 5}}
    assert spec_of(tmp_path, text)["TaskTemplate"]["RestartPolicy"] == {
        "Condition": "on-failure", "MaxAttempts": 3}
    assert spec_of(tmp_path, text, "agent")["Mode"] == {"Global": {}}
    job = spec_of(tmp_path, text, "job")
    assert job["Mode"] == {"ReplicatedJob": {"MaxConcurrent": 2, "TotalCompletions": 2}}
    assert "UpdateConfig" not in job


def test_ingress_ports_stay_ingress(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, """
        name: demo
        services:
          web: {image: x, ports: ["8080:80", "9000:90/udp"]}
    """)
    assert spec["EndpointSpec"] == {"Ports": [
        {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080, "PublishMode": "ingress"},
        {"Protocol": "udp", "TargetPort": 90, "PublishedPort": 9000, "PublishMode": "ingress"}]}


def test_secrets_and_configs_by_object_name(tmp_path: Path) -> None:
    (tmp_path / "pw.txt").write_text("hunter2")
    spec = spec_of(tmp_path, """
        name: demo
        services:
          web:
            image: x
            secrets: [pw, {source: pw, target: /etc/pw, mode: 0400, uid: "10"}]
            configs: [{source: site, target: /www/index.html}]
        secrets:
          pw: {file: ./pw.txt}
        configs:
          site: {content: "<h1>hi</h1>"}
    """, secrets={"pw": "demo_pw-0a1b2c3d"}, configs={"site": "demo_site-00000000"})
    c = spec["TaskTemplate"]["ContainerSpec"]
    assert c["Secrets"] == [
        {"File": {"Name": "/etc/pw", "UID": "10", "GID": "0", "Mode": 0o400},
         "SecretName": "demo_pw-0a1b2c3d"},
        {"File": {"Name": "pw", "UID": "0", "GID": "0", "Mode": 0o444},
         "SecretName": "demo_pw-0a1b2c3d"}]
    assert c["Configs"] == [{"File": {"Name": "/www/index.html", "UID": "0", "GID": "0",
                                      "Mode": 0o444}, "ConfigName": "demo_site-00000000"}]


def test_object_names_change_with_content_and_are_salted(tmp_path: Path) -> None:
    project, _ = load(tmp_path, """
        name: demo
        services: {web: {image: x}}
        secrets:
          a: {content: "same"}
          b: {content: "same"}
    """)
    import hashlib

    sha = hashlib.sha256(b"same").hexdigest()
    a, b = project.secrets["a"], project.secrets["b"]
    assert object_name(a, sha).startswith("demo_a-") and len(object_name(a, sha)) == 15
    assert object_name(a, sha)[-8:] != object_name(b, sha)[-8:]  # salted with the name
    assert object_name(a, sha) != object_name(a, hashlib.sha256(b"other").hexdigest())
    assert sha[:8] not in object_name(a, sha)
    assert salted_digest(a.name, sha) != sha


def test_networks_are_attachable_overlays_with_ownership(tmp_path: Path) -> None:
    project, _ = load(tmp_path, """
        name: demo
        services: {web: {image: x, networks: [back]}}
        networks:
          back: {internal: true, labels: {x: "1"}}
    """)
    args = network_spec("demo", project.networks["back"])
    assert args["driver"] == "overlay" and args["attachable"] is True
    assert args["internal"] is True and args["name"] == "demo_back"
    assert owned(args["labels"], "demo") and not owned(args["labels"], "other")
    assert args["labels"]["x"] == "1" and args["labels"]["io.stackup.network"] == "back"
    assert not owned({"io.stackup.project": "demo"}, "demo")  # one-engine objects are not ours
