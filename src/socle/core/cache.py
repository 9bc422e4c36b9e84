"""Where socle keeps what it can build again: standalone schemas, compiled Rego programs,
modules regorus has parsed (``$SOCLE_CACHE_DIR``, else ``$XDG_CACHE_HOME/socle``, else
``~/.cache/socle``)."""

from __future__ import annotations

import contextlib
import os
from functools import lru_cache


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


def read_trusted(path: str) -> bytes | None:
    """A cache entry's bytes, or None when it is missing, unreadable, or may have been written
    by someone else (not owned by this user, or group- or world-writable): entries are code or
    parsed code, run as they are."""
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if st.st_uid != os.getuid() or st.st_mode & 0o022:
                return None
            return f.read()
    except OSError:
        return None


def write_atomic(path: str, data: bytes) -> bool:
    """Write a cache entry whole or not at all (a temporary file in the same folder, renamed
    over it), so that a reader never sees half of one; False when it could not be written (a
    cache is an optimisation: a run goes on without it)."""
    import tempfile

    folder = os.path.dirname(path)
    tmp = None
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return True
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return False


def prune(folder: str, keep: int, suffix: str = ".bin") -> None:
    """Remove the oldest entries of a cache folder beyond ``keep`` (quietly: a cache is an
    optimisation)."""
    with contextlib.suppress(OSError):
        entries = [e for e in os.scandir(folder) if e.name.endswith(suffix)]
        if len(entries) > keep:
            entries.sort(key=lambda e: e.stat().st_mtime)
            for e in entries[:len(entries) - keep]:
                with contextlib.suppress(OSError):
                    os.unlink(e.path)


@lru_cache(maxsize=16)
def source_digest(*paths: str) -> str:
    """A digest of files' bytes (the code that wrote a cache's entries: entries from other
    code are not used), read once per process."""
    import hashlib

    h = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()
