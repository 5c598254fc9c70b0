"""Copy files between the host and a container through the engine's archive endpoints, with
``docker cp``'s rules for where things land.

Pipeline position: ``stackup cp`` calls these after an ownership-filtered observe picked the
container. Reads and writes the local disk and talks to an ``Engine``; decides nothing else.

Rules (both directions): a destination that is an existing directory receives the source under
its own name; one that does not exist is created with the source's content under the
destination's name (its parent must exist); a source path ending in ``/.`` copies the
directory's content, not the directory; a directory never overwrites a file. ``-`` as the
destination streams a tar to stdout; ``-`` as the source reads one from stdin.
"""

from __future__ import annotations

import io
import os
import posixpath
import tarfile
from collections.abc import Iterator
from typing import IO, Any

from stackup.ports.engine import Engine
from stackup.core.errors import EngineError, ProjectError


class _NoChown(tarfile.TarFile):
    """Extract without changing owners (``docker cp`` leaves them to the local user)."""

    def chown(self, *args: Any, **kwargs: Any) -> None:  # noqa: D102
        return None


class _Stream(io.RawIOBase):
    """A file-like view of an iterator of byte chunks (the engine's tar stream)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _is_dir(info: dict[str, Any]) -> bool:
    return bool(int(info.get("mode", 0)) & (1 << 31))  # Go's os.ModeDir


def copy_from_container(engine: Engine, container_id: str, source: str, destination: str, *,
                        follow_link: bool = False, stdout: IO[bytes] | None = None) -> None:
    """``cp SERVICE:source destination`` (``-`` writes the tar to ``stdout``)."""
    info = engine.stat_path(container_id, source)
    if info is None:
        raise EngineError(f"cannot copy from the container: no such file or directory: {source}")
    if follow_link and info.get("linkTarget"):
        target = str(info["linkTarget"])
        source = target if posixpath.isabs(target) else posixpath.join(
            posixpath.dirname(source), target)
        info = engine.stat_path(container_id, source) or info
    chunks, _ = engine.get_archive(container_id, source)
    if destination == "-":
        assert stdout is not None
        for chunk in chunks:
            stdout.write(chunk)
        stdout.flush()
        return
    contents_only = source.endswith("/.")
    base = posixpath.basename(source.rstrip("/")) or "/"
    source_is_dir = _is_dir(info)
    if os.path.isdir(destination):
        into, rename = destination, (None if not contents_only else "")
    elif os.path.exists(destination):
        if source_is_dir:
            raise ProjectError(f"cannot copy the directory {source} onto the file {destination}")
        into, rename = os.path.dirname(os.path.abspath(destination)), os.path.basename(destination)
    else:
        if destination.endswith(os.sep) and not source_is_dir:
            raise ProjectError(f"destination directory {destination} does not exist")
        parent = os.path.dirname(os.path.abspath(destination.rstrip(os.sep)))
        if not os.path.isdir(parent):
            raise ProjectError(f"cannot copy to {destination}: {parent} does not exist")
        into = parent
        rename = os.path.basename(destination.rstrip(os.sep))
    with _NoChown.open(fileobj=io.BufferedReader(_Stream(chunks)), mode="r|") as archive:
        for member in archive:
            name = member.name
            head, _, tail = name.partition("/")
            if rename is not None and head in (base, "."):
                name = posixpath.join(rename, tail) if rename and tail else (rename or tail)
                if not name:  # the root entry of a ``dir/.`` copy
                    continue
            member.name = name
            archive.extract(member, into, set_attrs=True, filter="tar")


def copy_to_container(engine: Engine, project_name: str, container_id: str, source: str,
                      destination: str, *, follow_link: bool = False, keep_owner: bool = False,
                      stdin: IO[bytes] | None = None) -> None:
    """``cp source SERVICE:destination`` (``-`` reads a tar from ``stdin`` into a directory)."""
    dest_info = engine.stat_path(container_id, destination)
    if source == "-":
        if dest_info is None or not _is_dir(dest_info):
            raise ProjectError(f"cannot copy a tar from stdin to {destination}: it must be an "
                               f"existing directory in the container")
        assert stdin is not None
        engine.put_archive(project_name, container_id, destination, stdin.read())
        return
    if not os.path.lexists(source):
        raise ProjectError(f"cannot copy {source}: no such file or directory")
    contents_only = source.endswith(os.sep + ".") or source == "."
    path = os.path.realpath(source) if follow_link else source.rstrip(os.sep) or os.sep
    source_is_dir = os.path.isdir(path) and (follow_link or not os.path.islink(path))
    if dest_info is not None and _is_dir(dest_info):
        into, name = destination, os.path.basename(os.path.abspath(path))
    elif dest_info is not None:
        if source_is_dir:
            raise ProjectError(f"cannot copy the directory {source} onto the file {destination}")
        into, name = posixpath.dirname(destination) or "/", posixpath.basename(destination)
    else:
        if destination.endswith("/") and not source_is_dir:
            raise ProjectError(f"destination directory {destination} does not exist in the "
                               f"container")
        trimmed = destination.rstrip("/") or "/"
        into, name = posixpath.dirname(trimmed) or "/", posixpath.basename(trimmed)
    if contents_only and source_is_dir and dest_info is not None and _is_dir(dest_info):
        name = ""
    engine.put_archive(project_name, container_id, into,
                       _tar(path, name, follow_link=follow_link, keep_owner=keep_owner))


def _tar(path: str, name: str, *, follow_link: bool, keep_owner: bool) -> bytes:
    """A tar of ``path`` whose root entry is ``name`` ("" : the directory's content only)."""
    buffer = io.BytesIO()

    def owner(info: tarfile.TarInfo) -> tarfile.TarInfo:
        if not keep_owner:
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
        return info

    with tarfile.open(fileobj=buffer, mode="w", dereference=follow_link) as archive:
        if name:
            archive.add(path, arcname=name, filter=owner)
        else:
            for entry in sorted(os.listdir(path)):
                archive.add(os.path.join(path, entry), arcname=entry, filter=owner)
    return buffer.getvalue()

