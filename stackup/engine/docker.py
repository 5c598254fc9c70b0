"""DockerEngine: the Engine protocol against a real Docker engine. The ONLY module importing docker.

Pipeline position: ``app`` calls ``observe`` once per run; ``execute`` calls one method per plan
operation, from several worker threads at once (one low-level ``APIClient`` whose connection
pool is sized for that). Arguments come from the pure ``container_spec``/``resources`` modules;
this module adds the engine look-ups (ownership checks, ``network_mode: service:x``, anonymous
volumes of a previous container) and maps every SDK/HTTP failure to a stackup error in one
place, ``_translate``.
"""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType
from typing import TYPE_CHECKING, Any

from stackup import labels as L
from stackup.engine.base import ExecResult, ImageInfo, OutputSink
from stackup.engine.image_stream import BuildStream, TransferStream
from stackup.engine.container_spec import container_create_args, extra_networks
from stackup.engine.resources import (container_from_inspect, container_from_list,
                                      container_name, default_state_dir, file_mounts,
                                      network_create_args, network_from_engine,
                                      volume_create_args, volume_from_engine)
from stackup.errors import (Conflict, EngineError, EngineUnavailable, NotFound, OperationFailed,
                            StackupError)
from stackup.model import BuildSpec, FrozenMap, Network, Project, Service, Volume
from stackup.engine.unix_http import UnixSocketReader
from stackup.observed import ObservedContainer, ObservedState

if TYPE_CHECKING:
    import docker
    import requests
else:
    class _Lazy:
        """The SDK, imported on first use: commands that only read (a no-op ``up``, ``plan``,
        ``ps``) observe through ``unix_http`` and never pay for importing it."""

        def __init__(self, name: str) -> None:
            self._name = name
            self._module: ModuleType | None = None

        def __getattr__(self, attr: str) -> Any:
            if self._module is None:
                self._module = importlib.import_module(self._name)
                importlib.import_module(f"{self._name}.{_SUBMODULES[self._name]}")
            return getattr(self._module, attr)

    _SUBMODULES = {"docker": "api.build", "requests": "exceptions"}
    docker = _Lazy("docker")
    requests = _Lazy("requests")

API_VERSION = "1.41"
DEFAULT_SOCKET = "unix:///var/run/docker.sock"


# --- errors: the one place SDK/HTTP failures become stackup errors ----------------------------


def _translate(exc: Exception, what: str, base_url: str) -> StackupError:
    """Map an SDK/HTTP failure to a stackup error carrying the engine's own message."""
    if isinstance(exc, requests.exceptions.ConnectionError) or (
            isinstance(exc, docker.errors.DockerException)
            and not isinstance(exc, docker.errors.APIError)
            and "connection" in str(exc).lower()):
        return EngineUnavailable(f"cannot reach the Docker engine at {base_url}",
                                 detail="start dockerd or set DOCKER_HOST")
    if isinstance(exc, requests.exceptions.Timeout):
        error = EngineUnavailable(f"{what}: the Docker engine at {base_url} did not answer in time")
        return error
    if isinstance(exc, docker.errors.APIError):
        message = str(exc.explanation or exc).strip()
        status = exc.status_code
        if status == 404:
            return NotFound(f"{what}: {message}")
        if status == 409 or "port is already allocated" in message \
                or "address already in use" in message:
            return Conflict(f"{what}: {message}")
        return EngineError(f"{what}: {message}")
    return EngineError(f"{what}: {exc}")


class DockerEngine:
    """The Engine protocol implemented with the Docker SDK's low-level API."""

    def __init__(self, api: docker.APIClient | Callable[[], docker.APIClient], *,
                 state_dir: str | None = None, reader: UnixSocketReader | None = None) -> None:
        """``api`` is an SDK client or a function making one on first use; ``reader``, when
        given, serves the read-only calls (observe, inspect) without the SDK."""
        self._api = None if callable(api) else api
        self._make_api = api if callable(api) else None
        self.reader = reader
        self.base_url = str(getattr(self._api, "base_url", "") or DEFAULT_SOCKET)
        self.state_dir = state_dir or default_state_dir(os.environ)
        # (project, container id) → (name, carried anonymous volumes) for containers seen with
        # the project's label (in observe, or created here). Labels never change and ids are
        # never reused, so these need no second inspect before being started, stopped or removed.
        self._mine: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {}

    @property
    def api(self) -> docker.APIClient:
        if self._api is None:
            assert self._make_api is not None
            self._api = self._make_api()
        return self._api

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, max_pool_size: int = 32,
                 timeout: int = 120, state_dir: str | None = None) -> DockerEngine:
        """An engine from DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH (API pinned at 1.41:
        no version round trip). Does not contact the engine, nor import the SDK."""
        env = dict(os.environ if environ is None else environ)
        display = env.get("DOCKER_HOST") or DEFAULT_SOCKET

        def make_api() -> docker.APIClient:
            kwargs = docker.utils.kwargs_from_env(environment=env) if env.get("DOCKER_HOST") \
                else {}
            kwargs.setdefault("base_url", DEFAULT_SOCKET)
            try:
                return docker.APIClient(version=API_VERSION, timeout=timeout,
                                        max_pool_size=max_pool_size, **kwargs)
            except docker.errors.DockerException as exc:
                raise EngineUnavailable(f"cannot reach the Docker engine at {display}",
                                        detail=f"{exc}; start dockerd or set DOCKER_HOST") from exc

        reader = None
        if display.startswith("unix://") and not env.get("DOCKER_TLS_VERIFY"):
            reader = UnixSocketReader(display[len("unix://"):], display=display,
                                      timeout=timeout)
        engine = cls(make_api, state_dir=state_dir or default_state_dir(env), reader=reader)
        engine.base_url = display
        return engine

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
        if self._api is not None:
            self._api.close()

    @contextmanager
    def _call(self, what: str) -> Iterator[None]:
        try:
            yield
        except StackupError:
            raise
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise _translate(exc, what, self.base_url) from exc

    def ping(self) -> None:
        with self._call("ping"):
            self.api.ping()

    # --- observe ----------------------------------------------------------------------------

    def observe(self, project_name: str, *, networks: Iterable[str] = (),
                volumes: Iterable[str] = (), images: Iterable[str] = (),
                all_containers: bool = True) -> ObservedState:
        label = {"label": [L.project_filter(project_name)]}
        what = f"cannot observe project {project_name}"
        if self.reader is not None:
            get = self.reader.get
            raw_containers = get("/containers/json", {"all": "1" if all_containers else "0",
                                                      "filters": label}, what=what)
            raw_networks = {n["Name"]: n for n in get("/networks", {"filters": label},
                                                      what=what)}
            raw_volumes = {v["Name"]: v for v in
                           (get("/volumes", {"filters": label}, what=what) or {})
                           .get("Volumes") or []}
        else:
            with self._call(what):
                raw_containers = self.api.containers(all=all_containers, filters=label)
                raw_networks = {n["Name"]: n for n in self.api.networks(filters=label)}
                raw_volumes = {v["Name"]: v for v in
                               (self.api.volumes(filters=label) or {}).get("Volumes") or []}
        for name in sorted(set(networks) - set(raw_networks)):
            found = self._inspect_or_none("network", name)
            if found is not None:
                raw_networks[name] = found
        for name in sorted(set(volumes) - set(raw_volumes)):
            found = self._inspect_or_none("volume", name)
            if found is not None:
                raw_volumes[name] = found
        containers = sorted((container_from_list(c) for c in raw_containers),
                            key=lambda c: (c.service, c.number, c.name))
        for c in containers:
            if c.labels.get(L.PROJECT) == project_name:
                self._remember(project_name, c.container_id, c.name, c.labels)
        return ObservedState(
            project_name=project_name, containers=tuple(containers),
            networks=FrozenMap({n: network_from_engine(raw_networks[n])
                                for n in sorted(raw_networks)}),
            volumes=FrozenMap({v: volume_from_engine(raw_volumes[v])
                               for v in sorted(raw_volumes)}),
            images=FrozenMap({ref: self.image_id(ref) for ref in sorted(set(images))}))

    def _inspect_or_none(self, kind: str, name: str) -> dict[str, Any] | None:
        try:
            if self.reader is not None:
                path = {"network": "/networks/{}", "volume": "/volumes/{}",
                        "image": "/images/{}/json", "container": "/containers/{}/json"}[kind]
                return self.reader.get(path.format(name), what=f"cannot inspect {kind} {name}")
            with self._call(f"cannot inspect {kind} {name}"):
                if kind == "network":
                    return self.api.inspect_network(name)
                if kind == "volume":
                    return self.api.inspect_volume(name)
                if kind == "image":
                    return self.api.inspect_image(name)
                return self.api.inspect_container(name)
        except NotFound:
            return None

    def inspect_container(self, container_id: str) -> ObservedContainer:
        what = f"cannot inspect container {container_id}"
        if self.reader is not None:
            return container_from_inspect(
                self.reader.get(f"/containers/{container_id}/json", what=what))
        with self._call(what):
            return container_from_inspect(self.api.inspect_container(container_id))

    def image_id(self, ref: str) -> str | None:
        found = self._inspect_or_none("image", ref)
        return None if found is None else str(found["Id"])

    # --- ownership ------------------------------------------------------------------------

    def _owned(self, project_name: str, kind: str, ref: str, verb: str) -> dict[str, Any]:
        """Inspect a resource and refuse unless it carries the project's label."""
        with self._call(f"cannot {verb} {kind} {ref}"):
            if kind == "container":
                info = self.api.inspect_container(ref)
                labels = (info.get("Config") or {}).get("Labels") or {}
            elif kind == "network":
                info = self.api.inspect_network(ref)
                labels = info.get("Labels") or {}
            else:
                info = self.api.inspect_volume(ref)
                labels = info.get("Labels") or {}
        if labels.get(L.PROJECT) != project_name:
            name = str(info.get("Name") or ref).lstrip("/")
            raise EngineError(f"refusing to {verb} {name}: it does not belong to project "
                              f"{project_name}",
                              detail=f"the {kind} has no {L.PROJECT}={project_name} label")
        return info

    # --- networks and volumes ---------------------------------------------------------------

    def create_network(self, project_name: str, network: Network) -> None:
        with self._call(f"cannot create network {network.name}"):
            self.api.create_network(**network_create_args(project_name, network))

    def remove_network(self, project_name: str, name: str) -> None:
        try:
            self._owned(project_name, "network", name, "remove")
        except NotFound:
            return
        try:
            with self._call(f"cannot remove network {name}"):
                try:
                    self.api.remove_network(name)
                except docker.errors.NotFound:
                    return
        except EngineError as error:
            if "active endpoints" not in error.summary:
                raise
            raise self._network_in_use(name, error) from error

    def _network_in_use(self, name: str, error: EngineError) -> EngineError:
        """Say who still uses a network the engine refuses to remove."""
        info = self._inspect_or_none("network", name) or {}
        users = sorted(str(c.get("Name") or cid[:12])
                       for cid, c in (info.get("Containers") or {}).items())
        if users:
            return EngineError(f"cannot remove network {name}: containers outside the project "
                               f"still use it: {', '.join(users)}",
                               detail="Disconnect or remove them, then run `stackup down` again.")
        return EngineError(
            error.summary,
            detail="No container uses it: the engine lost count of its endpoints (a known issue "
                   "of Docker Engine 20.10 after many concurrent stops). Restarting dockerd "
                   "clears it; then `stackup down` again removes the network.")

    def create_volume(self, project_name: str, volume: Volume) -> None:
        with self._call(f"cannot create volume {volume.name}"):
            self.api.create_volume(**volume_create_args(project_name, volume))

    def remove_volume(self, project_name: str, name: str) -> None:
        try:
            self._owned(project_name, "volume", name, "remove")
        except NotFound:
            return
        with self._call(f"cannot remove volume {name}"):
            try:
                self.api.remove_volume(name)
            except docker.errors.NotFound:
                return

    # --- containers -------------------------------------------------------------------------

    def create_container(self, project: Project, service: Service, number: int, *,
                         name: str, config_hash: str, config_json: str, image: str,
                         previous_container_id: str | None = None) -> str:
        mode_container = None
        if service.network_mode and service.network_mode.startswith("service:"):
            mode_container = self._service_container(project.name, service.network_mode[8:])
        anonymous = (self._anonymous_volumes(project, previous_container_id)
                     if previous_container_id else {})
        self._write_files(project, service)
        args = container_create_args(
            project, service, number, name=name, config_hash=config_hash,
            config_json=config_json, image=image, network_mode_container=mode_container,
            anonymous_volumes=anonymous, state_dir=self.state_dir)
        healthcheck = args.pop("healthcheck", None)
        create_name = args.pop("name")
        platform = args.pop("platform", None)
        args.setdefault("command", None)  # the SDK requires it; None keeps the image's CMD
        with self._call(f"cannot create container {name}"):
            config = self.api.create_container_config(**args)
            if healthcheck is not None:
                config["Healthcheck"] = healthcheck
            container_id = str(self.api.create_container_from_config(
                config, name=create_name, platform=platform)["Id"])
        self._remember(project.name, container_id, name, args["labels"])
        try:
            for network_name, kwargs in extra_networks(project, service):
                with self._call(f"cannot connect {name} to network {network_name}"):
                    self.api.connect_container_to_network(container_id, network_name, **kwargs)
        except StackupError:
            with self._call(f"cannot remove half-created container {name}"):
                self.api.remove_container(container_id, force=True)
            raise
        return container_id

    def _remember(self, project_name: str, container_id: str, name: str,
                  labels: Mapping[str, str]) -> None:
        carried = tuple(v for v in labels.get(L.CARRIED_VOLUMES, "").split(",") if v)
        self._mine[(project_name, container_id)] = (name, carried)

    def _service_container(self, project_name: str, service_name: str) -> str:
        """The container behind ``network_mode: service:<name>`` (running first, lowest number)."""
        filters = {"label": [L.project_filter(project_name), f"{L.SERVICE}={service_name}"]}
        with self._call(f"cannot find the containers of service {service_name}"):
            found = [container_from_list(c) for c in self.api.containers(all=True, filters=filters)]
        found = [c for c in found if not c.oneoff]
        if not found:
            raise NotFound(f"service {service_name} has no container to share its network with",
                           detail=f"create {service_name} first (network_mode: service:"
                                  f"{service_name})")
        found.sort(key=lambda c: (not c.running, c.number))
        return found[0].container_id

    def _anonymous_volumes(self, project: Project, container_id: str) -> dict[str, str]:
        """Container path → volume name for the previous container's anonymous volumes."""
        declared = {v.name for v in project.volumes.values()}
        with self._call(f"cannot inspect container {container_id}"):
            info = self.api.inspect_container(container_id)
        return {str(m["Destination"]): str(m["Name"]) for m in info.get("Mounts") or []
                if m.get("Type") == "volume" and m.get("Name") and m["Name"] not in declared}

    def _write_files(self, project: Project, service: Service) -> None:
        """Write secret/config contents that do not live in a user file (see resources)."""
        for fm in file_mounts(project, service, self.state_dir):
            if fm.content is None:
                continue
            try:
                os.makedirs(os.path.dirname(fm.host_path), mode=0o700, exist_ok=True)
                tmp = f"{fm.host_path}.tmp{os.getpid()}"
                with open(tmp, "w", encoding="utf-8") as handle:
                    handle.write(fm.content)
                os.chmod(tmp, fm.mode)
                os.replace(tmp, fm.host_path)
            except OSError as exc:
                raise EngineError(f"cannot write {fm.kind} {fm.key} to {fm.host_path}: "
                                  f"{exc.strerror}",
                                  detail="set STACKUP_STATE_DIR to a writable directory") from exc

    def _ours(self, project_name: str, container_id: str,
              verb: str) -> tuple[str, tuple[str, ...]]:
        """(name, carried anonymous volumes) of a container of the project; refuses others.

        One inspect the first time a container is met; none for containers already seen with
        the label (observed or created here): labels never change, ids are never reused."""
        known = self._mine.get((project_name, container_id))
        if known is None:
            info = self._owned(project_name, "container", container_id, verb)
            labels = (info.get("Config") or {}).get("Labels") or {}
            self._remember(project_name, container_id, container_name(info), labels)
            known = self._mine[(project_name, container_id)]
        return known

    def start_container(self, project_name: str, container_id: str) -> None:
        name, _ = self._ours(project_name, container_id, "start")
        with self._call(f"cannot start container {name}"):
            self.api.start(container_id)

    def stop_container(self, project_name: str, container_id: str,
                       timeout: float | None = None) -> None:
        """Without ``timeout`` the engine applies the container's own StopTimeout."""
        name, _ = self._ours(project_name, container_id, "stop")
        with self._call(f"cannot stop container {name}"):
            self.api.stop(container_id, timeout=_seconds(timeout))

    def restart_container(self, project_name: str, container_id: str,
                          timeout: float | None = None) -> None:
        name, _ = self._ours(project_name, container_id, "restart")
        with self._call(f"cannot restart container {name}"):
            self.api.stop(container_id, timeout=_seconds(timeout))
            self.api.start(container_id)

    def remove_container(self, project_name: str, container_id: str, *,
                         volumes: bool = False, timeout: float | None = None) -> None:
        """Remove; one call when the container is stopped, and when the engine answers that it is
        running, stop it gracefully first. Already gone is fine. With ``volumes``, also the
        anonymous volumes it carried over from a container it replaced (the engine's own ``v``
        removes only those it created for this one)."""
        try:
            name, carried = self._ours(project_name, container_id, "remove")
        except NotFound:
            return
        with self._call(f"cannot remove container {name}"):
            try:
                self.api.remove_container(container_id, v=volumes)
            except docker.errors.NotFound:
                return
            except docker.errors.APIError as exc:
                if exc.status_code != 409:
                    raise
                self.api.stop(container_id, timeout=_seconds(timeout))
                self.api.remove_container(container_id, v=volumes)
        self._mine.pop((project_name, container_id), None)
        for volume in carried if volumes else ():
            try:
                self.api.remove_volume(volume)
            except docker.errors.APIError:
                continue

    def rename_container(self, project_name: str, container_id: str, name: str) -> None:
        old, carried = self._ours(project_name, container_id, "rename")
        with self._call(f"cannot rename container {old} to {name}"):
            self.api.rename(container_id, name)
        self._mine[(project_name, container_id)] = (name, carried)

    # --- images ---------------------------------------------------------------------------

    def build_image(self, service_name: str, build: BuildSpec, tag: str, *,
                    no_cache: bool = False, pull: bool = False,
                    on_output: OutputSink | None = None) -> str:
        """Build with the engine's builder (legacy ``/build``), streaming its output."""
        what = f"cannot build image {tag} for service {service_name}"
        stream = BuildStream(service_name, tag, on_output)
        kwargs: dict[str, Any] = dict(
            tag=tag, nocache=no_cache or build.no_cache, pull=pull or build.pull, rm=True,
            forcerm=True, decode=True, target=build.target, network_mode=build.network,
            shmsize=build.shm_size, labels=dict(build.labels) or None,
            cache_from=list(build.cache_from) or None,
            buildargs={k: v for k, v in build.args.items() if v is not None},
            extra_hosts=dict(h.split(":", 1) for h in build.extra_hosts) or None)
        context = None
        if _is_remote(build.context):
            kwargs["path"] = build.context
        else:
            context, kwargs["dockerfile"] = _build_context(build, what)
            kwargs.update(fileobj=context, custom_context=True)
        try:
            with self._call(what):
                for record in self.api.build(**kwargs):
                    stream.feed(record)
        finally:
            if context is not None:
                context.close()
        image_id = self.image_id(tag)
        if image_id is None:
            raise OperationFailed(f"{what}: the engine reported no image",
                                  detail="\n".join(stream.lines[-5:]))
        return image_id

    def pull_image(self, ref: str, *, on_output: OutputSink | None = None) -> str:
        self._transfer("pull", ref, on_output)
        image_id = self.image_id(ref)
        if image_id is None:
            raise OperationFailed(f"cannot pull image {ref}: the engine reported no image")
        return image_id

    def push_image(self, ref: str, *, on_output: OutputSink | None = None) -> None:
        self._transfer("push", ref, on_output)

    def _transfer(self, verb: str, ref: str, on_output: OutputSink | None) -> None:
        """Pull or push ``ref`` with the user's registry credentials, streaming progress."""
        what = f"cannot {verb} image {ref}"
        repository, tag = docker.utils.parse_repository_tag(ref)
        auth = _auth_config(repository, what)
        stream = TransferStream(verb, ref, on_output)
        call = self.api.pull if verb == "pull" else self.api.push
        with self._call(what):
            for record in call(repository, tag=tag or "latest", stream=True, decode=True,
                               auth_config=auth):
                stream.feed(record)

    def image_details(self, image_ids: Iterable[str]) -> dict[str, ImageInfo]:
        found: dict[str, ImageInfo] = {}
        for image_id in sorted(set(image_ids)):
            info = self._inspect_or_none("image", image_id)
            if info is not None:
                found[image_id] = ImageInfo(str(info["Id"]), tuple(info.get("RepoTags") or ()),
                                            int(info.get("Size") or 0),
                                            str(info.get("Created") or ""))
        return found

    # --- interactive ------------------------------------------------------------------------

    def logs(self, container_id: str, *, follow: bool = False, tail: int | None = None,
             timestamps: bool = False) -> Iterator[bytes]:
        what = f"cannot read the logs of {container_id}"
        with self._call(what):
            stream = self.api.logs(container_id, stream=True, follow=follow,
                                   tail="all" if tail is None else tail, timestamps=timestamps)
        with self._call(what):
            yield from stream

    def exec(self, container_id: str, command: list[str], *, tty: bool = False,
             user: str | None = None, workdir: str | None = None,
             environment: dict[str, str] | None = None) -> ExecResult:
        """Run a command to completion; ``output`` is stdout and stderr interleaved."""
        chunks = self.exec_stream(container_id, command, tty=tty, user=user, workdir=workdir,
                                  environment=environment)
        output = b"".join(chunk for _, chunk in chunks)
        return ExecResult(exit_code=chunks.exit_code, output=output)

    def exec_stream(self, container_id: str, command: list[str], *, tty: bool = False,
                    user: str | None = None, workdir: str | None = None,
                    environment: dict[str, str] | None = None) -> ExecStream:
        """Start a command; iterate the result for (1 stdout | 2 stderr, bytes) chunks as they
        come, then read ``exit_code``."""
        with self._call(f"cannot exec in container {container_id}"):
            exec_id = self.api.exec_create(container_id, command, tty=tty, user=user or "",
                                           workdir=workdir, environment=environment)["Id"]
            stream = self.api.exec_start(exec_id, tty=tty, stream=True, demux=True)
        return ExecStream(self, exec_id, stream, tty)


class ExecStream:
    """Output chunks of a running exec; ``exit_code`` is known once the stream is exhausted."""

    def __init__(self, engine: DockerEngine, exec_id: str, stream: Iterator[Any], tty: bool):
        self._engine, self._exec_id, self._stream, self._tty = engine, exec_id, stream, tty

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        with self._engine._call(f"cannot read exec {self._exec_id}"):
            for item in self._stream:
                if isinstance(item, tuple):
                    out, err = item
                    if out:
                        yield 1, out
                    if err:
                        yield 2, err
                elif item:
                    yield 1, item

    @property
    def exit_code(self) -> int:
        with self._engine._call(f"cannot inspect exec {self._exec_id}"):
            code = self._engine.api.exec_inspect(self._exec_id).get("ExitCode")
        return -1 if code is None else int(code)


def _is_remote(context: str) -> bool:
    return context.startswith(("http://", "https://", "git://", "github.com/", "git@"))


def _build_context(build: BuildSpec, what: str) -> tuple[Any, str | None]:
    """The build context as an in-memory tar (``.dockerignore`` honoured) and the Dockerfile's
    name in it; ``dockerfile_inline`` is added to the tar as a generated file."""
    path = build.context
    if not os.path.isdir(path):
        raise OperationFailed(f"{what}: build context {path} is not a directory")
    exclude = None
    ignore = os.path.join(path, ".dockerignore")
    try:
        if os.path.exists(ignore):
            with open(ignore, encoding="utf-8") as handle:
                exclude = [line.strip() for line in handle.read().splitlines()
                           if line.strip() and not line.strip().startswith("#")]
        if build.dockerfile_inline is not None:
            dockerfile: tuple[str | None, str | None] = (".stackup.inline.Dockerfile",
                                                         build.dockerfile_inline)
        else:
            dockerfile = docker.api.build.process_dockerfile(build.dockerfile, path)
            name = dockerfile[0] or "Dockerfile"
            if dockerfile[1] is None and not os.path.isfile(os.path.join(path, name)):
                raise OperationFailed(f"{what}: no {name} in build context {path}")
        return docker.utils.build.tar(path, exclude=exclude, dockerfile=dockerfile), dockerfile[0]
    except OSError as exc:
        raise OperationFailed(f"{what}: {exc.strerror}: {exc.filename}") from exc


def _auth_config(repository: str, what: str) -> dict[str, Any] | None:
    """The user's credentials for the registry of ``repository``, read as the docker CLI does
    (``DOCKER_CONFIG`` or ``~/.docker/config.json``, credential helpers). Never printed."""
    try:
        registry, _ = docker.auth.resolve_repository_name(repository)
        config = docker.auth.load_config()
        found = config.resolve_authconfig(registry)
    except docker.errors.InvalidRepository as exc:
        raise OperationFailed(f"{what}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - a broken helper or config: say so, no secrets
        raise OperationFailed(f"{what}: cannot read registry credentials ({type(exc).__name__})",
                              detail="check ~/.docker/config.json or DOCKER_CONFIG") from exc
    return dict(found) if found else None


def _seconds(timeout: float | None) -> int | None:
    """A stop timeout for the engine (whole seconds), or None for the container's own."""
    return None if timeout is None else max(0, math.ceil(timeout))
