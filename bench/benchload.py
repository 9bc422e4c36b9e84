"""Import a benchmark file by path (bench/ is no package), under a name that cannot clash with
anything on sys.path. Each runner puts bench/ on sys.path to reach this one helper."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def load(name: str, path: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
