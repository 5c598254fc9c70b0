"""Secret and config files → the bytes and the tar the engine receives.

Pipeline position: inside the engine adapters, at container create. ``adapters.docker.resource_specs``
decides which files a service gets (``file_deliveries``, pure); this module reads the ``file:``
sources from the machine running stackup (the one read of the runner's disk for secrets) and
packs everything into an uncompressed tar whose entries are the absolute targets (``run/secrets/
tok``), so that one ``PUT /containers/{id}/archive?path=/`` delivers them all. The engine creates
missing parent directories itself (0755, root), as it does for Compose; the tar carries no
directory entries because extracting one over an existing directory would change its mode and
owner (``/tmp`` would lose its sticky bit). Mode, uid and gid are the tar headers'.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from dataclasses import dataclass

from stackup.adapters.docker.resource_specs import FileDelivery, file_deliveries
from stackup.core.errors import EngineError
from stackup.core.model import Project, Service

MAX_FILE_BYTES = 64 * 1024 * 1024  # a secret or config file larger than this is refused


@dataclass(frozen=True, slots=True)
class Payload:
    """One file as delivered: where, with which mode and owner, and its bytes."""

    delivery: FileDelivery
    data: bytes

    def __repr__(self) -> str:  # the bytes are secret
        return f"Payload({self.delivery!r}, {len(self.data)} bytes)"


def payloads(deliveries: list[FileDelivery], *, service: str) -> list[Payload]:
    """The bytes of each delivery; a ``file:`` source that cannot be read is an EngineError
    naming the service, the secret or config, and the file."""
    out: list[Payload] = []
    for d in deliveries:
        if d.file is None:
            out.append(Payload(d, (d.content or "").encode("utf-8")))
            continue
        what = f"service {service}: cannot read {d.kind} {d.key} from {d.file}"
        try:
            info = os.stat(d.file)
            if stat.S_ISDIR(info.st_mode):
                raise EngineError(f"{what}: it is a directory",
                                  detail=f"A {d.kind} file source must be a regular file.")
            if info.st_size > MAX_FILE_BYTES:
                raise EngineError(f"{what}: {info.st_size} bytes is more than the "
                                  f"{MAX_FILE_BYTES} a {d.kind} may hold")
            with open(d.file, "rb") as handle:
                out.append(Payload(d, handle.read(MAX_FILE_BYTES + 1)))
        except OSError as exc:
            raise EngineError(f"{what}: {exc.strerror}",
                              detail=f"The {d.kind} is declared `file: {d.file}` in the stack "
                                     "file; create it or fix the path.") from None
    return out


def tar_archive(items: list[Payload], *, relative_to: str = "/") -> bytes:
    """An uncompressed tar of ``items``, each at its target relative to ``relative_to`` (which
    must be a parent directory of every target)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for item in items:
            d = item.delivery
            info = tarfile.TarInfo(os.path.relpath(d.target, relative_to))
            info.size = len(item.data)
            info.mode = d.mode & 0o7777
            info.uid, info.gid = d.uid, d.gid
            info.mtime = 0  # the same bytes give the same tar
            tar.addfile(info, io.BytesIO(item.data))
    return buffer.getvalue()


def delivered(project: Project, service: Service) -> dict[str, Payload]:
    """Target path → payload, as a container of ``service`` receives them (later wins)."""
    return {p.delivery.target: p
            for p in payloads(file_deliveries(project, service), service=service.name)}
