"""Images: build (BuildKit where the engine offers it, else the legacy builder), pull and push
with the user's credentials.

Pipeline position: ``execute`` calls these for build/pull/push operations; output streams to the
caller line by line through ``image_stream``.

The builder, said on the first output line of every build:

1. ``docker buildx`` when the plugin is installed: BuildKit with every build key (secrets, ssh,
   cache_to, additional_contexts, several platforms, entitlements, attestations);
2. else the engine's own BuildKit through the API (``/build?version=2``, Linux engines): cache
   mounts and the rest of BuildKit's Dockerfile syntax, but no session, so ``secrets`` and
   ``ssh`` fail with a message saying to install buildx; keys it cannot apply are warned about
   with their file and line;
3. else the legacy builder through the API.

``STACKUP_BUILDER=buildx|buildkit|legacy`` forces one; ``DOCKER_BUILDKIT=0`` means legacy.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import docker
from docker.utils.json_stream import json_stream

from stackup.adapters.docker.client import DEFAULT_SOCKET, ClientBase
from stackup.adapters.docker.resource_specs import STACKUP_VERSION
from stackup.core import labels as L
from stackup.core.errors import (
    EngineUnavailable,
    OperationFailed,
    StackupError,
)

if TYPE_CHECKING:  # the builders' modules are imported when something is built
    from stackup.ports.engine import ImageInfo, OutputSink
    from stackup.core.model import BuildSpec

_SESSION_KEYS = ("secrets", "ssh")  # need a BuildKit session: buildx only
_BUILDX_ONLY = ("cache_to", "additional_contexts", "entitlements", "privileged", "provenance",
                "sbom")


class ImageMixin(ClientBase):
    """Image operations."""

    _builders: dict[str, str | None]  # "buildx" → version or None, "engine" → Os or None

    def build_image(self, service_name: str, build: BuildSpec, tag: str, *,
                    no_cache: bool = False, pull: bool = False,
                    on_output: OutputSink | None = None) -> str:
        """Build with the best builder there is (see the module docstring), streaming its
        output; the first line says which builder."""
        emit = on_output or (lambda line: None)
        builder, label = self._builder(service_name, tag)
        emit(f"building {tag} with {label}")
        if builder == "buildx":
            from stackup.adapters.docker.buildx import build_with_buildx

            return build_with_buildx(service_name, build, tag, no_cache=no_cache, pull=pull,
                                     environ=self._cli_environ(), on_line=emit)
        for warning in _unapplied(build, builder, service_name, tag):
            emit(f"warning: {warning}")
        return self._build_api(service_name, build, tag, no_cache=no_cache, pull=pull,
                               buildkit=builder == "buildkit", on_output=on_output)

    def _builder(self, service_name: str, tag: str) -> tuple[str, str]:
        """("buildx" | "buildkit" | "legacy", how the build output names it)."""
        forced = os.environ.get("STACKUP_BUILDER", "").strip().lower()
        if not forced and os.environ.get("DOCKER_BUILDKIT", "").strip() in ("0", "false"):
            forced = "legacy"
        if forced not in ("", "buildx", "buildkit", "legacy", "classic"):
            raise OperationFailed(f"cannot build image {tag} for service {service_name}: "
                                  f"STACKUP_BUILDER={forced} is not buildx, buildkit or legacy")
        if forced in ("legacy", "classic"):
            return "legacy", "the legacy builder (engine API)"
        if not hasattr(self, "_builders"):
            self._builders = {}
        if forced in ("", "buildx"):
            if "buildx" not in self._builders:
                from stackup.adapters.docker.buildx import buildx_version

                self._builders["buildx"] = buildx_version(self._cli_environ())
            version = self._builders["buildx"]
            if version is not None:
                return "buildx", f"BuildKit (docker buildx {version})"
            if forced == "buildx":
                raise OperationFailed(
                    f"cannot build image {tag} for service {service_name}: "
                    "STACKUP_BUILDER=buildx but `docker buildx version` does not answer",
                    detail="install it: scripts/cli_plugins.sh buildx")
        if self._engine_buildkit():
            return "buildkit", f"the engine's BuildKit (API {self.api_version})"
        if forced == "buildkit":
            raise OperationFailed(f"cannot build image {tag} for service {service_name}: "
                                  "STACKUP_BUILDER=buildkit but the engine has no BuildKit "
                                  "(needs a Linux engine with API 1.39 or later)")
        return "legacy", "the legacy builder (engine API)"

    def _engine_buildkit(self) -> bool:
        from stackup.adapters.docker.container_extras import version_tuple

        if not hasattr(self, "_builders"):
            self._builders = {}
        if "engine" not in self._builders:
            try:
                with self._call("cannot ask the engine's version"):
                    info = self.api.version()
                self._builders["engine"] = str(info.get("Os") or "linux")
            except Exception:  # noqa: BLE001 - no answer: fall back to the legacy builder
                self._builders["engine"] = None
        return self._builders["engine"] == "linux" and \
            version_tuple(self.api_version) >= (1, 39)

    def _cli_environ(self) -> dict[str, str]:
        """The docker CLI's environment: ours, pointed at the same engine."""
        env = dict(os.environ)
        if self.base_url and self.base_url != DEFAULT_SOCKET and "://" in self.base_url:
            env.setdefault("DOCKER_HOST", self.base_url)
        return env

    def _build_api(self, service_name: str, build: BuildSpec, tag: str, *, no_cache: bool,
                   pull: bool, buildkit: bool, on_output: OutputSink | None) -> str:
        """``POST /build`` with the context as a tar: ``version=2`` for BuildKit."""
        from stackup.adapters.docker.buildkit_trace import TraceReader
        from stackup.adapters.docker.image_stream import BuildStream

        what = f"cannot build image {tag} for service {service_name}"
        stream = BuildStream(service_name, tag, on_output)
        trace = TraceReader(lambda line: stream.feed({"stream": line}))
        params: dict[str, Any] = {
            "t": [tag, *build.tags], "q": False, "nocache": no_cache or build.no_cache,
            "rm": True, "forcerm": True, "pull": pull or build.pull,
            "buildargs": json.dumps({k: v for k, v in build.args.items() if v is not None}),
            "version": "2" if buildkit else "1"}
        for key, value in (("target", build.target), ("networkmode", build.network),
                           ("shmsize", build.shm_size), ("isolation", build.isolation),
                           ("platform", build.platforms[0] if build.platforms else None)):
            if value:
                params[key] = value
        for key, items in (("labels", dict(build.labels)), ("cachefrom", list(build.cache_from)),
                           ("extrahosts", dict(h.split(":", 1) for h in build.extra_hosts)),
                           ("ulimits", [{"Name": u.name, "Soft": u.soft, "Hard": u.hard}
                                        for u in build.ulimits])):
            if items:
                params[key] = json.dumps(items)
        context = None
        headers: dict[str, str] = {}
        if _is_remote(build.context):
            params["remote"] = build.context
        else:
            context, params["dockerfile"] = _build_context(build, what)
            if buildkit:  # BuildKit reads the tar only without PAX headers
                context = _gnu_tar(context)
            headers["Content-Type"] = "application/tar"
        try:
            with self._call(what):
                registry_config = _registry_config()
            if registry_config:
                headers["X-Registry-Config"] = registry_config
            response = self.request("POST", "/build", what=what, data=context, params=params,
                                    headers=headers, stream=True, timeout=None)
            with self._call(what):
                for record in json_stream(
                        response.iter_content(chunk_size=None)):
                    if record.get("id") == "moby.buildkit.trace":
                        trace.feed_aux(str(record.get("aux") or ""))
                        stream.step = trace.step
                        continue
                    if "error" in record and trace.step:
                        stream.step = trace.step
                    stream.feed(record)
        finally:
            if context is not None:
                context.close()
        image_id = stream.image_id if buildkit and stream.image_id else self.image_id(tag)
        if image_id is None:
            raise OperationFailed(f"{what}: the engine reported no image",
                                  detail="\n".join(stream.lines[-5:]))
        return image_id

    def pull_image(self, ref: str, *, on_output: OutputSink | None = None) -> str:
        self._transfer("pull", ref, on_output)
        image_id = self.image_id(ref)
        if image_id is None:
            raise OperationFailed(f"cannot pull image {ref}: the engine reported no image")
        self._record_pull(ref)
        return image_id

    def _record_pull(self, ref: str) -> None:
        """Keep the time of this pull on the engine: the record volume of ``ref``, made anew
        (a volume's labels cannot change), for ``pull_policy: daily | weekly | every_*``."""
        name = L.pull_record_name(ref)
        with self._call(f"cannot record the pull of image {ref}"):
            try:
                self.api.remove_volume(name)
            except docker.errors.NotFound:
                pass
            self.api.create_volume(name=name, driver="local", labels={
                L.PULLED_REF: ref, L.PULLED_AT: f"{time.time():.0f}",
                L.VERSION: STACKUP_VERSION})

    def push_image(self, ref: str, *, on_output: OutputSink | None = None) -> None:
        self._transfer("push", ref, on_output)

    def image_unpullable(self, ref: str) -> str | None:
        """None when the registry resolves ``ref`` (the engine's distribution inspect, with the
        user's credentials: the manifest only), else the engine's reason. An engine that does
        not answer raises ``EngineUnavailable``."""
        what = f"cannot resolve image {ref}"
        try:
            auth = _auth_config(docker.utils.parse_repository_tag(ref)[0], what)
            with self._call(what):
                self.api.inspect_distribution(ref, auth_config=auth)
        except EngineUnavailable:
            raise
        except StackupError as exc:
            return exc.summary.removeprefix(f"{what}: ")
        return None

    def _transfer(self, verb: str, ref: str, on_output: OutputSink | None) -> None:
        """Pull or push ``ref`` with the user's registry credentials, streaming progress."""
        from stackup.adapters.docker.image_stream import TransferStream

        what = f"cannot {verb} image {ref}"
        repository, tag = docker.utils.parse_repository_tag(ref)
        auth = _auth_config(repository, what)
        stream = TransferStream(verb, ref, on_output)
        call = self.api.pull if verb == "pull" else self.api.push
        with self._call(what):
            for record in call(repository, tag=tag or "latest", stream=True, decode=True,
                               auth_config=auth):
                stream.feed(record)

    def registry_digest(self, ref: str) -> str:
        """The digest of ``ref``'s manifest in its registry now, through the engine's
        distribution endpoint (``config --resolve-image-digests``, as Compose asks it)."""
        what = f"cannot resolve the digest of image {ref}"
        repository, _ = docker.utils.parse_repository_tag(ref)
        auth = _auth_config(repository, what)
        with self._call(what):
            info = self.api.inspect_distribution(ref, auth_config=auth)
        return str((info.get("Descriptor") or {})["digest"])

    def image_details(self, image_ids: Iterable[str]) -> dict[str, ImageInfo]:
        from stackup.ports.engine import ImageInfo

        found: dict[str, ImageInfo] = {}
        for image_id in sorted(set(image_ids)):
            info = self._inspect_or_none("image", image_id)
            if info is not None:
                found[image_id] = ImageInfo(str(info["Id"]), tuple(info.get("RepoTags") or ()),
                                            int(info.get("Size") or 0),
                                            str(info.get("Created") or ""))
        return found


def _unapplied(build: BuildSpec, builder: str, service_name: str, tag: str) -> list[str]:
    """Warnings for the keys an API builder cannot apply; secrets and ssh fail the build."""
    name = "the engine's BuildKit (no session)" if builder == "buildkit" \
        else "the legacy builder"
    for key in _SESSION_KEYS:
        if getattr(build, key):
            where = build.origins.get(f"build.{key}", "")
            raise OperationFailed(
                f"cannot build image {tag} for service {service_name}: build.{key}{where} needs "
                f"BuildKit with a session, which {name} cannot give",
                detail="install docker buildx (scripts/cli_plugins.sh buildx) and build again")
    keys = [k for k in _BUILDX_ONLY if getattr(build, k)]
    if len(build.platforms) > 1:
        keys.append("platforms")
    if builder == "legacy" and build.ulimits:
        keys.append("ulimits")
    return [f"build.{key}{build.origins.get(f'build.{key}', '')} is not applied by {name} "
            f"and is ignored (install docker buildx to apply it)" for key in keys]


def _gnu_tar(source: Any) -> Any:
    """The same archive in GNU format with whole-second times: the engine's BuildKit takes a
    tar with PAX headers (Python's default, written for sub-second mtimes) for a Dockerfile."""
    import tarfile
    import tempfile

    out = tempfile.SpooledTemporaryFile(max_size=64 << 20)  # noqa: SIM115 - closed by caller
    with source, tarfile.open(fileobj=source, mode="r:") as old, \
            tarfile.open(fileobj=out, mode="w:", format=tarfile.GNU_FORMAT) as new:
        for member in old:
            member.mtime = int(member.mtime)
            member.pax_headers = {}
            new.addfile(member, old.extractfile(member) if member.isfile() else None)
    out.seek(0)
    return out


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


def _registry_config() -> str | None:
    """The ``X-Registry-Config`` header of a build: every registry login of the docker CLI's
    configuration (the engine picks those its ``FROM`` lines need), as the SDK's build sends."""
    credentials = docker.auth.load_config().get_all_credentials()
    if docker.auth.INDEX_URL not in credentials and docker.auth.INDEX_NAME in credentials:
        credentials[docker.auth.INDEX_URL] = credentials[docker.auth.INDEX_NAME]
    return docker.auth.encode_header(credentials).decode() if credentials else None


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

