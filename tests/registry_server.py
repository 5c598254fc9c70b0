"""A tiny in-memory Docker registry (HTTP API v2) for tests, on 127.0.0.1 and a random port.

No registry image can be pulled on the test machines, so this serves the part of the protocol
that ``docker push`` and ``docker pull`` use, without authentication: the ``/v2/`` version
check, blob HEAD/GET, blob uploads (POST, then PATCH chunks and/or a final PUT with the digest;
cross-repository mounts), and manifests by tag or digest (PUT/GET/HEAD). Dockerd treats
registries on 127.0.0.0/8 as insecure, so plain http is fine.

    with RegistryServer() as registry:
        ref = f"127.0.0.1:{registry.port}/demo/app:1"
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_ROUTE = re.compile(r"^/v2/(?P<name>.+?)/(?:blobs/uploads/(?P<upload>[^/]*)"
                    r"|blobs/(?P<digest>[^/]+)|manifests/(?P<ref>[^/]+))$")


class _Store:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.blobs: dict[str, bytes] = {}
        self.manifests: dict[tuple[str, str], tuple[str, bytes]] = {}  # (name, ref) → type, body
        self.uploads: dict[str, bytearray] = {}
        self.requests: list[str] = []


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        return

    @property
    def store(self) -> _Store:
        return self.server.store  # type: ignore[no-any-return]

    # --- plumbing ---------------------------------------------------------------------------
    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              *, head: bool = False, length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if body and not head:
            self.wfile.write(body)

    def _error(self, status: int, code: str, message: str, *, head: bool = False) -> None:
        body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        self._send(status, body, {"Content-Type": "application/json"}, head=head)

    def _route(self) -> tuple[re.Match[str] | None, dict[str, list[str]]]:
        parts = urlsplit(self.path)
        with self.store.lock:
            self.store.requests.append(f"{self.command} {parts.path}")
        return _ROUTE.match(parts.path), parse_qs(parts.query)

    # --- verbs ------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._get(head=False)

    def do_HEAD(self) -> None:
        self._get(head=True)

    def _get(self, *, head: bool) -> None:
        if urlsplit(self.path).path in ("/v2/", "/v2"):
            self._route()
            self._send(200, b"{}", {"Content-Type": "application/json"}, head=head)
            return
        match, _ = self._route()
        if match is None:
            self._error(404, "NOT_FOUND", "no such endpoint", head=head)
            return
        name = match["name"]
        if match["digest"] is not None:
            blob = self.store.blobs.get(match["digest"])
            if blob is None:
                self._error(404, "BLOB_UNKNOWN", "blob unknown to registry", head=head)
                return
            self._send(200, blob, {"Content-Type": "application/octet-stream",
                                   "Docker-Content-Digest": match["digest"]}, head=head)
            return
        if match["ref"] is not None:
            found = self.store.manifests.get((name, match["ref"]))
            if found is None:
                self._error(404, "MANIFEST_UNKNOWN", "manifest unknown", head=head)
                return
            media_type, body = found
            self._send(200, body, {"Content-Type": media_type,
                                   "Docker-Content-Digest": _digest(body)}, head=head)
            return
        upload = self.store.uploads.get(match["upload"] or "")
        if upload is None:
            self._error(404, "BLOB_UPLOAD_UNKNOWN", "upload unknown", head=head)
            return
        self._send(204, headers={"Range": f"0-{max(len(upload) - 1, 0)}",
                                 "Docker-Upload-UUID": match["upload"]}, head=True)

    def do_POST(self) -> None:
        match, query = self._route()
        body = self._body()
        if match is None or match["upload"] is None:
            self._error(404, "NOT_FOUND", "no such endpoint")
            return
        name = match["name"]
        mount = (query.get("mount") or [None])[0]
        if mount and mount in self.store.blobs:
            self._send(201, headers={"Location": f"/v2/{name}/blobs/{mount}",
                                     "Docker-Content-Digest": mount})
            return
        digest = (query.get("digest") or [None])[0]
        if digest:  # monolithic upload in one POST
            self._finish_blob(name, digest, body)
            return
        upload_id = uuid.uuid4().hex
        with self.store.lock:
            self.store.uploads[upload_id] = bytearray(body)
        self._send(202, headers={"Location": f"/v2/{name}/blobs/uploads/{upload_id}",
                                 "Range": "0-0", "Docker-Upload-UUID": upload_id})

    def do_PATCH(self) -> None:
        match, _ = self._route()
        body = self._body()
        upload = self.store.uploads.get((match["upload"] or "") if match else "")
        if match is None or upload is None:
            self._error(404, "BLOB_UPLOAD_UNKNOWN", "upload unknown")
            return
        with self.store.lock:
            upload += body
        self._send(202, headers={"Location": f"/v2/{match['name']}/blobs/uploads/"
                                             f"{match['upload']}",
                                 "Range": f"0-{max(len(upload) - 1, 0)}",
                                 "Docker-Upload-UUID": match["upload"]})

    def do_PUT(self) -> None:
        match, query = self._route()
        body = self._body()
        if match is None:
            self._error(404, "NOT_FOUND", "no such endpoint")
            return
        name = match["name"]
        if match["ref"] is not None:
            media_type = self.headers.get("Content-Type",
                                          "application/vnd.docker.distribution.manifest.v2+json")
            digest = _digest(body)
            with self.store.lock:
                self.store.manifests[(name, match["ref"])] = (media_type, body)
                self.store.manifests[(name, digest)] = (media_type, body)
            self._send(201, headers={"Location": f"/v2/{name}/manifests/{digest}",
                                     "Docker-Content-Digest": digest})
            return
        upload = self.store.uploads.pop(match["upload"] or "", None)
        digest = (query.get("digest") or [None])[0]
        if upload is None or not digest:
            self._error(404, "BLOB_UPLOAD_UNKNOWN", "upload unknown or no digest")
            return
        self._finish_blob(name, digest, bytes(upload) + body)

    def do_DELETE(self) -> None:
        match, _ = self._route()
        if match is not None and match["upload"]:
            self.store.uploads.pop(match["upload"], None)
        self._send(204)

    def _finish_blob(self, name: str, digest: str, data: bytes) -> None:
        if _digest(data) != digest:
            self._error(400, "DIGEST_INVALID", f"content does not match {digest}")
            return
        with self.store.lock:
            self.store.blobs[digest] = data
        self._send(201, headers={"Location": f"/v2/{name}/blobs/{digest}",
                                 "Docker-Content-Digest": digest})


class RegistryServer:
    """Start with ``start()`` or ``with``; ``port``; ``store`` holds blobs, manifests, requests."""

    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.store = _Store()
        self.httpd.store = self.store  # type: ignore[attr-defined]
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> RegistryServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> RegistryServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
