"""sha256 without loading OpenSSL: the one hash stackup computes on every command.

Pipeline position: the bottom layer, beside ``records``. ``hashlib`` loads OpenSSL's libcrypto
the first time it is imported (~2.5 ms, about 2% of a no-op ``up``); CPython's own sha256 module
needs nothing, and for the short texts hashed here (a service's config, a secret's value, a
model) it is as fast. Where that module is missing, ``hashlib``'s is used.
"""

from __future__ import annotations

try:  # CPython 3.12+
    from _sha2 import sha256  # type: ignore[import-not-found]
except ImportError:
    try:  # CPython 3.11
        from _sha256 import sha256  # type: ignore[import-not-found, no-redef]
    except ImportError:  # another interpreter
        from hashlib import sha256  # type: ignore[assignment]

__all__ = ["sha256"]
