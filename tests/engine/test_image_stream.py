"""The build/pull/push stream readers: lines out, the step and the message in errors."""

from __future__ import annotations

import pytest

from stackup.adapters.docker.image_stream import BuildStream, TransferStream
from stackup.core.errors import OperationFailed


def test_build_stream_passes_lines_and_names_service_and_step_on_error() -> None:
    lines: list[str] = []
    stream = BuildStream("web", "demo-web", lines.append)
    stream.feed({"stream": "Step 1/2 : FROM busybox:local\n ---> 4e66ccc90db5\n"})
    stream.feed({"stream": "Step 2/2 : RUN false\n"})
    stream.feed({"stream": "\n"})
    assert lines == ["Step 1/2 : FROM busybox:local", " ---> 4e66ccc90db5", "Step 2/2 : RUN false"]
    with pytest.raises(OperationFailed) as caught:
        stream.feed({"errorDetail": {"code": 1, "message": "returned a non-zero code: 1"},
                     "error": "returned a non-zero code: 1"})
    assert str(caught.value) == ("cannot build image demo-web for service web at Step 2/2 : "
                                 "RUN false: returned a non-zero code: 1")


def test_build_stream_finds_the_image_id() -> None:
    stream = BuildStream("web", "t")
    stream.feed({"aux": {"ID": "sha256:abc"}})
    stream.feed({"stream": "Successfully built 0123456789ab\n"})
    assert stream.image_id == "sha256:abc"


def test_transfer_stream_throttles_progress_and_raises_with_the_image() -> None:
    now = [0.0]
    lines: list[str] = []
    stream = TransferStream("pull", "r:1", lines.append, clock=lambda: now[0])
    stream.feed({"status": "Pulling from r", "id": "1"})
    stream.feed({"status": "Downloading", "id": "abc", "progress": "[=>  ] 1kB/9kB"})
    stream.feed({"status": "Downloading", "id": "abc", "progress": "[==> ] 2kB/9kB"})
    now[0] = 2.0
    stream.feed({"status": "Downloading", "id": "abc", "progress": "[===>] 8kB/9kB"})
    stream.feed({"status": "Digest: sha256:fff"})
    assert lines == ["1: Pulling from r", "abc: Downloading [=>  ] 1kB/9kB",
                     "abc: Downloading [===>] 8kB/9kB", "Digest: sha256:fff"]
    assert stream.digest == "sha256:fff"
    with pytest.raises(OperationFailed, match=r"^cannot pull image r:1: manifest unknown$"):
        stream.feed({"error": "manifest unknown"})
