"""Defaults shared by every command: ``socle.yaml`` at the repository root, or
``[tool.socle]`` in ``pyproject.toml``.

The file maps a command name to its options, plus shared top-level options::

    # socle.yaml
    output: text
    validate:
      kubernetes-version: "1.31"
      strict: true
      schema-location: [default, "schemas/{{ .ResourceKind }}.json"]

Keys are the long flag names without dashes. Command-line flags win over the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from socle.core.errors import UsageError

CONFIG_NAMES = ("socle.yaml", "socle.yml", ".socle.yaml")
SHARED_KEYS = ("output", "summary", "verbose", "color")


@dataclass
class Config:
    path: str | None = None
    root: str = "."
    data: dict[str, Any] = field(default_factory=dict)
    document: Any = None  # the YAML file's Document, for the lines of keys

    def line_of(self, command: str, key: str) -> int | None:
        """The line of ``key`` in ``command``'s section, or at the top (None: unknown)."""
        if self.document is None:
            return None
        known = self.document.positions()
        for name in dict.fromkeys((key, key.replace("-", "_"))):
            for path in ((command, name), (name,)):
                if path in known:
                    return int(self.document.position_of(list(path))[0])
        return int(self.document.line)

    def for_command(self, command: str) -> dict[str, Any]:
        """Options for one command: shared keys overlaid by the command's own section."""
        out = {k: self.data[k] for k in SHARED_KEYS if k in self.data}
        section = self.data.get(command) or {}
        if not isinstance(section, dict):
            raise UsageError(f"section {command!r} must be a mapping", self.path,
                             self.line_of(command, command) or 0)
        out.update(section)
        return {k.replace("_", "-"): v for k, v in out.items()}


def find_root(start: str) -> str:
    """The repository root: the nearest folder up from ``start`` holding .git or a config."""
    first = cur = os.path.abspath(start)
    if os.path.isfile(cur):
        first = cur = os.path.dirname(cur)
    while True:
        if any(os.path.exists(os.path.join(cur, n)) for n in (".git", *CONFIG_NAMES)):
            return cur
        parent = os.path.dirname(cur)
        if parent == cur:
            return first  # (no repository: the folder of what was given)
        cur = parent


def load(path: str | None = None, start: str = ".") -> Config:
    """Read the config file named, or the one found at the repository root (or none)."""
    if path is not None:
        return _read(path, os.path.dirname(os.path.abspath(path)))
    root = find_root(start)
    for name in CONFIG_NAMES:
        candidate = os.path.join(root, name)
        if os.path.isfile(candidate):
            return _read(candidate, root)
    pyproject = os.path.join(root, "pyproject.toml")
    if os.path.isfile(pyproject):
        import tomllib  # (here and below: only TOML configs pay for importing it)

        try:
            with open(pyproject, "rb") as fh:
                doc = tomllib.load(fh)
        except tomllib.TOMLDecodeError as err:
            raise UsageError(f"cannot read pyproject.toml: {err}", pyproject) from None
        section = doc.get("tool", {}).get("socle")
        if isinstance(section, dict):
            return Config(pyproject, root, section)
    return Config(None, root, {})


def _read(path: str, root: str) -> Config:
    from socle.formats import yaml as _yaml

    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as err:
        raise UsageError(f"cannot read config: {err.strerror}", path) from None
    if path.endswith(".toml"):
        import tomllib

        try:
            doc = tomllib.loads(data.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise UsageError(f"cannot read config: {err}", path) from None
        section = doc.get("tool", {}).get("socle", doc)
        return Config(path, root, section if isinstance(section, dict) else {})
    with _yaml.quiet_native_stderr():
        docs = list(_yaml.iter_documents(data, path))
    if not docs:
        return Config(path, root, {})
    if docs[0].error:
        raise UsageError(docs[0].error.message, path, docs[0].error.line)
    if not isinstance(docs[0].obj, dict):
        raise UsageError("config must be a mapping", path, docs[0].line)
    return Config(path, root, docs[0].obj, docs[0])


# --- conftest's own configuration --------------------------------------------------------------

# the names conftest (viper) looks for in the current folder, in viper's order of extensions
CONFTEST_NAMES = ("conftest.json", "conftest.toml", "conftest.yaml", "conftest.yml")


def load_conftest(path: str | None = None, folder: str = ".") -> tuple[str | None, dict[str, Any]]:
    """conftest's configuration, for ``socle test`` and ``verify``: the file given
    (conftest's ``--config-file``), else the first of :data:`CONFTEST_NAMES` in ``folder``
    (conftest reads the current folder's, not the repository root's); (None, {}) without one.
    Keys are conftest's flag names (``policy``, ``namespace``, ``fail-on-warn``...)."""
    if path is None:
        for name in CONFTEST_NAMES:
            candidate = name if folder == "." else os.path.join(folder, name)
            if os.path.isfile(candidate):
                path = candidate
                break
        else:
            return None, {}
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as err:
        raise UsageError(f"cannot read conftest config: {err.strerror}", path) from None
    try:
        text = data.decode("utf-8-sig")
        if path.endswith(".toml"):
            import tomllib

            doc: Any = tomllib.loads(text)
        elif path.endswith(".json"):
            import json

            doc = json.loads(text) if text.strip() else {}
        else:
            from socle.formats import yaml as _yaml

            with _yaml.quiet_native_stderr():
                docs = list(_yaml.iter_documents(data, path))
            if docs and docs[0].error is not None:
                raise UsageError(docs[0].error.message, path, docs[0].error.line)
            doc = docs[0].obj if docs else {}
    except UsageError:
        raise
    except Exception as err:  # (tomllib's, json's and decoding errors: one line, no traceback)
        raise UsageError(f"cannot read conftest config: {err}", path) from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise UsageError("conftest config must be a mapping of flag names to values", path)
    return path, doc
