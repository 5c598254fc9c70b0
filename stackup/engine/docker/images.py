"""Images: build (legacy builder over the API), pull and push with the user's credentials.

Pipeline position: ``execute`` calls these for build/pull/push operations; output streams to the
caller line by line through ``image_stream``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from stackup.engine.base import ImageInfo, OutputSink
from stackup.engine.docker.client import ClientBase, docker
from stackup.engine.image_stream import BuildStream, TransferStream
from stackup.errors import (
    OperationFailed,
)
from stackup.model import BuildSpec


class ImageMixin(ClientBase):
    """Image operations."""

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

