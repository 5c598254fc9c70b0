"""Webhook signatures: is this push event from the forge that knows our secret?

Pipeline position: the first thing the webhook route does, before it reads anything else of
the request; pure. GitHub signs the body with HMAC-SHA256 (``X-Hub-Signature-256:
sha256=<hex>``), Gitea the same without the prefix (``X-Gitea-Signature``), GitLab sends the
secret itself (``X-Gitlab-Token``). Every comparison is constant-time (``hmac.compare_digest``).
``branch_of`` reads the pushed branch from the payload of any of the three.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> str | None:
    """The forge whose signature checks out ("github", "gitea", "gitlab"), else None."""
    key = secret.encode("utf-8")
    expected = hmac.new(key, body, hashlib.sha256).hexdigest()
    github = headers.get("x-hub-signature-256")
    if github is not None:
        return "github" if hmac.compare_digest(github.strip().encode(),
                                               f"sha256={expected}".encode()) else None
    gitea = headers.get("x-gitea-signature")
    if gitea is not None:
        return "gitea" if hmac.compare_digest(gitea.strip().encode(), expected.encode()) \
            else None
    gitlab = headers.get("x-gitlab-token")
    if gitlab is not None:
        return "gitlab" if hmac.compare_digest(gitlab.encode("utf-8"), key) else None
    return None


def branch_of(body: bytes) -> str | None:
    """The branch a push event names (``ref: refs/heads/main``); None for another event."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    ref = payload.get("ref") if isinstance(payload, dict) else None
    if isinstance(ref, str) and ref.startswith("refs/heads/"):
        return ref[len("refs/heads/"):]
    return None
