"""Shared fixtures: a private schema cache per test session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def _schema_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Each session builds its own standalone schemas: nothing leaks from a developer's cache.

    Set SOCLE_CACHE_DIR yourself to reuse a warm cache between runs.
    """
    if "SOCLE_CACHE_DIR" in os.environ:
        yield
        return
    cache = tmp_path_factory.getbasetemp() / "socle-cache"
    os.environ["SOCLE_CACHE_DIR"] = str(cache)
    yield
    os.environ.pop("SOCLE_CACHE_DIR", None)
