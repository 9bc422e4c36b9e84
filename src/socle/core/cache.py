"""Where socle keeps what it can build again: standalone schemas, compiled Rego programs,
modules regorus has parsed (``$SOCLE_CACHE_DIR``, else ``$XDG_CACHE_HOME/socle``, else
``~/.cache/socle``)."""

from __future__ import annotations

import os


def cache_root() -> str:
    base = os.environ.get("SOCLE_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "socle")
    return base


def policy_cache(name: str) -> str | None:
    """A folder of the Rego caches, or None when ``SOCLE_NO_COMPILE_CACHE`` turns them off."""
    if os.environ.get("SOCLE_NO_COMPILE_CACHE"):
        return None
    return os.path.join(cache_root(), name)
