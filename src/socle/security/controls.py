"""Loading control folders: the bundled ones (package data) and the user's (``--controls-dir``).

A control folder holds ``control.yaml`` (metadata), ``policy.rego`` (the check) and
``fixtures/`` (see docs/controls-authoring.md). A ``lib/`` folder next to the controls holds
shared Rego (``data.socle.lib.*``). Bad metadata is a one-line error with file:line (exit 2).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from socle.core.errors import UsageError
from socle.core.finding import Severity

BUNDLED = Path(__file__).resolve().parent / "controls"
SEVERITIES = ("critical", "high", "medium", "low")
CATEGORIES = ("workload", "rbac", "network", "supply-chain", "secrets", "availability",
              "hygiene")
REFERENCE_KEYS = ("nsa", "cis", "mitre", "pss", "kubescape", "checkov", "trivy", "kube-linter",
                  "polaris", "kube-score")
_ID = re.compile(r"^[A-Z][A-Z0-9]*-[A-Za-z0-9_.-]+$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_KIND = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")  # a kind an inventory declaration names
_PACKAGE = re.compile(r"^package\s+(\S+)\s*$", re.MULTILINE)
DOCS_URI = "https://github.com/socle-dev/socle/blob/main/docs/scan-controls.md"


@dataclass(frozen=True)
class Control:
    """One control: its metadata and the Rego that checks it."""

    id: str
    name: str
    title: str
    severity: Severity
    base_score: float
    category: str
    description: str
    remediation: str
    kinds: frozenset[str]
    references: dict[str, list[str]] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    cross_resource: bool = False
    # the kinds of the inventory a cross-resource control reads (None: any); when the input
    # holds none of them, the control runs in the first phase, on an empty inventory
    inventory: frozenset[str] | None = None
    folder: str = ""
    rego_path: str = ""
    rego: str = ""
    bundled: bool = True

    # (computed once: every finding of the control carries them, and one string shared by
    # all of them is sent once from a worker, not once per finding)
    @cached_property
    def package(self) -> str:
        return "socle.controls." + self.name.replace("-", "_")

    @cached_property
    def anchor(self) -> str:
        return f"{self.id.lower()}-{self.name}"

    @cached_property
    def help_uri(self) -> str:
        return f"{DOCS_URI}#{self.anchor}"

    def applies_to(self, kind: str) -> bool:
        return kind in self.kinds or "*" in self.kinds

    def reference_ids(self, key: str) -> list[str]:
        return list(self.references.get(key, []))


@dataclass
class ControlSet:
    """Every loaded control, with the shared Rego libraries."""

    controls: list[Control] = field(default_factory=list)
    libraries: dict[str, str] = field(default_factory=dict)  # path -> Rego source

    def by_id(self) -> dict[str, Control]:
        return {c.id: c for c in self.controls}

    def select(self, ids: set[str]) -> ControlSet:
        return ControlSet([c for c in self.controls if c.id in ids], dict(self.libraries))


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, int, float)):
        return [str(value)]
    if isinstance(value, list):
        return [str(v) for v in value]
    raise ValueError("must be a string or a list of strings")


def _line_of(text: str, key: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(f"{key}:"):
            return number
    return 1


def parse_control(folder: Path, bundled: bool = True) -> Control:
    """Read one control folder; a UsageError with file:line when the metadata is wrong."""
    from socle.formats.yaml import iter_documents

    meta_path = folder / "control.yaml"
    rego_path = folder / "policy.rego"
    where = str(meta_path)
    try:
        text = meta_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"cannot read control metadata: {err}", where) from None
    docs = list(iter_documents(text, where))
    if not docs or docs[0].error is not None or not isinstance(docs[0].obj, dict):
        problem = docs[0].error if docs and docs[0].error else None
        raise UsageError(problem.message if problem else "control.yaml must be a mapping", where,
                         problem.line if problem else 1)
    meta: dict[str, Any] = docs[0].obj

    def bad(key: str, why: str) -> UsageError:
        return UsageError(f"{key}: {why}", where, _line_of(text, key))

    for key in ("id", "name", "title", "severity", "description", "remediation", "match"):
        if not meta.get(key):
            raise bad(key, "missing")
    cid = str(meta["id"])
    if not _ID.match(cid):
        raise bad("id", f"{cid!r} is not an id like SCL-001")
    name = str(meta["name"])
    if not _NAME.match(name) or name != folder.name:
        raise bad("name", f"{name!r} must be kebab-case and equal the folder name "
                  f"{folder.name!r}")
    severity = str(meta["severity"]).lower()
    if severity not in SEVERITIES:
        raise bad("severity", f"{severity!r} is not one of {', '.join(SEVERITIES)}")
    base = meta.get("baseScore", {"critical": 9, "high": 7, "medium": 5, "low": 3}[severity])
    if isinstance(base, bool) or not isinstance(base, (int, float)) or not 0 < base <= 10:
        raise bad("baseScore", "must be a number from 1 to 10")
    match = meta["match"]
    if not isinstance(match, dict):
        raise bad("match", "must be a mapping with kinds")
    try:
        kinds = frozenset(_as_list(match.get("kinds")))
    except ValueError as err:
        raise bad("match", f"kinds {err}") from None
    if not kinds:
        raise bad("match", "kinds is empty")
    refs_raw = meta.get("references") or {}
    if not isinstance(refs_raw, dict):
        raise bad("references", "must be a mapping")
    references: dict[str, list[str]] = {}
    for key, value in refs_raw.items():
        try:
            references[str(key)] = _as_list(value)
        except ValueError as err:
            raise bad("references", f"{key} {err}") from None
    inputs = meta.get("inputs") or {}
    if not isinstance(inputs, dict):
        raise bad("inputs", "must be a mapping of names to default values")
    inventory: frozenset[str] | None = None
    if meta.get("inventory") is not None:
        if not meta.get("crossResource"):
            raise bad("inventory", "only a crossResource control reads the inventory")
        try:
            names = _as_list(meta["inventory"])
        except ValueError as err:
            raise bad("inventory", str(err)) from None
        odd = [n for n in names if n != "*" and not _KIND.match(n)]
        if odd:
            raise bad("inventory", f"{odd[0]!r} is not a kind (letters and digits)")
        inventory = None if "*" in names else frozenset(names)
    try:
        rego = rego_path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"cannot read the control's Rego: {err}", str(rego_path)) from None
    package = "socle.controls." + name.replace("-", "_")
    if not any(m.group(1) == package for m in _PACKAGE.finditer(rego)):
        raise UsageError(f"the package must be {package}", str(rego_path), 1)
    return Control(
        id=cid, name=name, title=str(meta["title"]).strip(), severity=Severity.parse(severity),
        base_score=float(base), category=str(meta.get("category") or "hygiene"),
        description=" ".join(str(meta["description"]).split()),
        remediation=" ".join(str(meta["remediation"]).split()),
        kinds=kinds, references=references, inputs=dict(inputs),
        cross_resource=bool(meta.get("crossResource")), inventory=inventory,
        folder=str(folder),
        rego_path=str(rego_path), rego=rego, bundled=bundled)


def _load_dir(root: Path, out: ControlSet, bundled: bool) -> None:
    if not root.is_dir():
        raise UsageError(f"{root}: controls folder not found")
    key = _signature(root, bundled)
    hit = _cached(key) if key else None
    if hit is not None:
        out.libraries.update(hit.libraries)
        out.controls.extend(hit.controls)
        return
    part = ControlSet()
    lib = root / "lib"
    if lib.is_dir():
        for path in sorted(lib.glob("*.rego")):
            part.libraries[str(path)] = path.read_text(encoding="utf-8-sig")
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        folder = Path(entry.path)
        if entry.is_dir() and (folder / "control.yaml").is_file():
            part.controls.append(parse_control(folder, bundled))
    if key:
        _store(key, part)
    out.libraries.update(part.libraries)
    out.controls.extend(part.controls)


# --- a folder's controls, cached ----------------------------------------------------------------
#
# Reading the 79 bundled folders (158 files, YAML metadata checked field by field) took ~35 ms
# of every run's start, a tenth of a small check. A folder's parsed controls are kept in the
# cache, keyed by the name and bytes of every file loading reads, by whether they are bundled,
# and by this module's code; any change there reads the folder again.

_CACHE_FORMAT = "1"


def _signature(root: Path, bundled: bool) -> str | None:
    """The cache key of a folder's controls: the bytes of every file loading reads (~2 ms for
    the bundled folders; times and sizes could miss an edit within one clock tick); None when
    the cache is off or the folder cannot be read (it is then read as usual)."""
    import hashlib

    from socle.core.cache import policy_cache, source_digest

    if policy_cache("controls") is None:
        return None
    h = hashlib.sha256(f"{_CACHE_FORMAT}\0{source_digest(__file__)}\0{bundled}\0{root}".encode())
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
        lib = root / "lib"
        files = [os.path.join("lib", e.name) for e in sorted(os.scandir(lib), key=lambda e: e.name)
                 if e.name.endswith(".rego")] if lib.is_dir() else []
        files += [os.path.join(e.name, name) for e in entries if e.is_dir()
                  for name in ("control.yaml", "policy.rego")]
        for name in files:
            try:
                with open(os.path.join(root, name), "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                h.update(f"\0{name}\0-".encode())
                continue
            h.update(f"\0{name}\0{len(data)}\0".encode())
            h.update(data)
    except OSError:
        return None
    return h.hexdigest()


def _cached(key: str) -> ControlSet | None:
    import pickle

    from socle.core.cache import policy_cache, read_trusted

    folder = policy_cache("controls")
    data = read_trusted(os.path.join(folder, key + ".bin")) if folder else None
    if data is None:
        return None
    try:
        hit = pickle.loads(data)
    except Exception:  # truncated, or from another version: read the folder again
        return None
    return hit if isinstance(hit, ControlSet) else None


def _store(key: str, controls: ControlSet) -> None:
    import pickle

    from socle.core.cache import policy_cache, prune, write_atomic

    folder = policy_cache("controls")
    if folder is None:
        return
    if write_atomic(os.path.join(folder, key + ".bin"),
                    pickle.dumps(controls, protocol=pickle.HIGHEST_PROTOCOL)):
        prune(folder, 32)


def load_controls(extra_dirs: list[str] | None = None, bundled: bool = True) -> ControlSet:
    """The bundled controls, then each ``--controls-dir`` (same layout; ids must be unique)."""
    out = ControlSet()
    if bundled:
        _load_dir(BUNDLED, out, True)
    else:  # user controls still import the bundled helpers (data.socle.lib.k8s)
        for path in sorted((BUNDLED / "lib").glob("*.rego")):
            out.libraries[str(path)] = path.read_text(encoding="utf-8-sig")
    for d in extra_dirs or []:
        _load_dir(Path(d), out, False)
    seen: dict[str, Control] = {}
    names: dict[str, Control] = {}
    for c in out.controls:
        if c.id in seen:
            raise UsageError(f"control id {c.id} is used twice ({seen[c.id].folder} and "
                             f"{c.folder})", os.path.join(c.folder, "control.yaml"))
        if c.name in names:
            raise UsageError(f"control name {c.name} is used twice ({names[c.name].folder} "
                             f"and {c.folder})", os.path.join(c.folder, "control.yaml"))
        seen[c.id] = c
        names[c.name] = c
    out.controls.sort(key=lambda c: _id_key(c.id))
    return out


def _id_key(cid: str) -> tuple[str, int, str]:
    m = re.match(r"^(.*?)(\d+)$", cid)
    if m:
        return (m.group(1), int(m.group(2)), cid)
    return (cid, 0, cid)


def default_inputs(controls: ControlSet) -> dict[str, Any]:
    """Every control's input defaults, merged (the first control naming an input wins)."""
    out: dict[str, Any] = {}
    for c in controls.controls:
        for key, value in c.inputs.items():
            out.setdefault(key, value)
    return out
