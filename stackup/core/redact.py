"""What may be secret, and field-level differences that never show it.

Pipeline position: pure helper of ``reconcile`` (the ``changes`` of a recreate), ``render``
(``plan --diff``) and ``planfile`` (the model saved in a plan file). A value is sensitive when it
is the content of a secret or config, an environment value whose key contains PASSWORD, PASSWD,
SECRET, TOKEN, KEY, CREDENTIAL, AUTH or PRIVATE (any case), a value that came from an
``env_file``, or a build arg with such a key. Sensitive values are shown as
``(sensitive value changed)`` and stored as a salted-free sha256 digest, never in clear.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from hashlib import sha256
from typing import Any

from stackup.core.plan import Change

SENSITIVE_KEY = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|KEY|CREDENTIAL|AUTH|PRIVATE",
                           re.IGNORECASE)
_ALWAYS_SENSITIVE = ("secrets", "configs")
_MAX_SHOWN = 80


def sensitive_key(key: str) -> bool:
    return bool(SENSITIVE_KEY.search(key))


def digest(value: Any) -> str:
    """``sha256:<hex>`` of a value's canonical JSON (or of a string itself)."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return "sha256:" + sha256(text.encode("utf-8")).hexdigest()


def is_sensitive(path: str, env_file_keys: Collection[str] = ()) -> bool:
    """Whether the value at ``path`` (``environment.DB_PASSWORD``, ``secrets[0]``, ...) may be
    secret."""
    head = re.split(r"[.\[]", path, maxsplit=1)[0]
    if head in _ALWAYS_SENSITIVE:
        return True
    if head == "environment" and "." in path:
        key = path.split(".", 1)[1]
        return sensitive_key(key) or key in env_file_keys
    if path.startswith("build.args.") or path.startswith("args."):
        return sensitive_key(path.rsplit(".", 1)[1])
    return False


def redact_config(config: Mapping[str, Any], env_file_keys: Collection[str] = ()
                  ) -> dict[str, Any]:
    """A canonical service config with every sensitive value replaced by its digest."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key in _ALWAYS_SENSITIVE:
            out[key] = digest(value)
        elif key == "environment" and isinstance(value, Mapping):
            out[key] = {k: digest(v) if v is not None and (sensitive_key(k) or k in env_file_keys)
                        else v for k, v in value.items()}
        else:
            out[key] = value
    return out


def field_changes(old: Mapping[str, Any], new: Mapping[str, Any],
                  env_file_keys: Collection[str] = ()) -> list[Change]:
    """Every changed field between two canonical configs, sorted by path: mappings key by key,
    lists item by item (``ports[0]``), added and removed keys and items included."""
    out: list[Change] = []
    _walk(old, new, "", out, env_file_keys)
    return sorted(out, key=lambda c: c.path)


_MISSING = object()


def _walk(old: Any, new: Any, path: str, out: list[Change], env_keys: Collection[str]) -> None:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{path}.{key}" if path else str(key)
            _walk(old.get(key, _MISSING), new.get(key, _MISSING), sub, out, env_keys)
        return
    if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)) \
            and not is_sensitive(path, env_keys):
        for i in range(max(len(old), len(new))):
            _walk(old[i] if i < len(old) else _MISSING, new[i] if i < len(new) else _MISSING,
                  f"{path}[{i}]", out, env_keys)
        return
    if _normal(old) == _normal(new):
        return
    if is_sensitive(path, env_keys):
        out.append(Change(path or "(config)", None, None, sensitive=True))
    else:
        out.append(Change(path or "(config)", _show(old), _show(new)))


def _show(value: Any) -> str | None:
    if value is _MISSING:
        return None
    text = json.dumps(_normal(value), sort_keys=True, ensure_ascii=False)
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN - 1] + "…"


def _normal(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_normal(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _normal(v) for k, v in value.items()}
    return value


def change_text(change: Change) -> str:
    """``environment.VERSION: "v1" → "v2"``; ``(added)`` / ``(removed)``; sensitive hidden."""
    if change.sensitive:
        return f"{change.path}: (sensitive value changed)"
    if change.old is None:
        return f"{change.path}: (added) {change.new}"
    if change.new is None:
        return f"{change.path}: {change.old} (removed)"
    return f"{change.path}: {change.old} → {change.new}"
