"""Registry credentials come from the user's Docker config (DOCKER_CONFIG), per registry."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from stackup.adapters.docker import _auth_config


def test_credentials_for_the_registry_of_the_reference(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    token = base64.b64encode(b"alice:s3cret").decode()
    (tmp_path / "config.json").write_text(json.dumps(
        {"auths": {"127.0.0.1:5000": {"auth": token}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    found = _auth_config("127.0.0.1:5000/team/app", "cannot pull")
    assert found is not None
    assert found["username"] == "alice" and found["password"] == "s3cret"
    assert _auth_config("example.org/other/app", "cannot pull") is None
    assert _auth_config("busybox", "cannot pull") is None
