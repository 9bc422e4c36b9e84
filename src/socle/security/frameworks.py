"""Frameworks as data files: which controls belong to NSA/CISA, MITRE ATT&CK, CIS, PSS.

A framework file (``frameworks/<name>.yaml``, or a user's ``--framework-file``) names its
members either by deriving them from the controls' ``references`` (the one source of truth)::

    members: {reference: pss, values: [baseline, restricted]}

or by listing them (ids or names), or both; ``exclude`` removes some::

    name: my-org
    title: My organisation's baseline
    controls: [SCL-001, host-network]
    exclude: [SCL-030]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from socle.core.errors import UsageError
from socle.security.controls import Control, ControlSet

BUNDLED_DIR = Path(__file__).resolve().parent / "frameworks"
BUNDLED_NAMES = ("nsa", "mitre", "cis", "pss-baseline", "pss-restricted")


@dataclass
class Framework:
    name: str
    title: str
    version: str = ""
    url: str = ""
    description: str = ""
    reference: str = ""  # derive members from references.<reference>
    values: list[str] = field(default_factory=list)  # ... whose values are one of these
    controls: list[str] = field(default_factory=list)  # explicit members (ids or names)
    exclude: list[str] = field(default_factory=list)
    path: str = ""

    def members(self, controls: ControlSet) -> list[Control]:
        """The controls of this framework among the loaded ones, in id order."""
        wanted = set(self.controls)
        dropped = set(self.exclude)
        out = []
        for c in controls.controls:
            if c.id in dropped or c.name in dropped:
                continue
            if c.id in wanted or c.name in wanted or self._derived(c):
                out.append(c)
        return out

    def _derived(self, c: Control) -> bool:
        if not self.reference:
            return False
        refs = c.references.get(self.reference) or []
        if not refs:
            return False
        if not self.values:
            return True
        return any(r.lower() in self.values for r in refs)

    def sections(self, c: Control) -> list[str]:
        """What this framework calls the control (CIS section, ATT&CK technique, ...)."""
        if self.reference:
            return list(c.references.get(self.reference) or [])
        return []

    def unknown_members(self, controls: ControlSet) -> list[str]:
        known = {c.id for c in controls.controls} | {c.name for c in controls.controls}
        return [m for m in self.controls if m not in known]


def _strings(value: Any, what: str, path: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, (str, int)) for v in value):
        return [str(v) for v in value]
    raise UsageError(f"{what} must be a list of strings", path)


def load_framework_file(path: str) -> Framework:
    from socle.formats.yaml import iter_documents

    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as err:
        raise UsageError(f"cannot read framework: {err.strerror}", path) from None
    docs = list(iter_documents(data, path))
    if not docs or docs[0].error is not None or not isinstance(docs[0].obj, dict):
        problem = docs[0].error if docs and docs[0].error else None
        raise UsageError(problem.message if problem else "a framework file must be a mapping", path,
                         problem.line if problem else 1)
    doc = docs[0]
    meta: dict[str, Any] = doc.obj
    unknown = set(meta) - {"name", "title", "version", "url", "description", "members",
                           "controls", "exclude"}
    if unknown:
        key = sorted(unknown)[0]
        raise UsageError(f"unknown key {key!r} in framework", path, doc.line_of([key]))
    name = meta.get("name")
    if not isinstance(name, str) or not name.strip():
        raise UsageError("a framework needs a name", path, doc.line)
    members = meta.get("members") or {}
    if not isinstance(members, dict):
        raise UsageError("members must be a mapping {reference, values}", path,
                         doc.line_of(["members"]))
    fw = Framework(
        name=name.strip(), title=str(meta.get("title") or name).strip(),
        version=str(meta.get("version") or ""), url=str(meta.get("url") or ""),
        description=" ".join(str(meta.get("description") or "").split()),
        reference=str(members.get("reference") or ""),
        values=[v.lower() for v in _strings(members.get("values"), "members.values", path)],
        controls=_strings(meta.get("controls"), "controls", path),
        exclude=_strings(meta.get("exclude"), "exclude", path), path=path)
    if not fw.reference and not fw.controls:
        raise UsageError("a framework needs controls or members.reference", path, doc.line)
    return fw


def bundled() -> dict[str, Framework]:
    return {n: load_framework_file(str(BUNDLED_DIR / f"{n}.yaml")) for n in BUNDLED_NAMES}


def resolve(names: list[str], files: list[str], controls: ControlSet) -> list[Framework]:
    """The frameworks asked for: bundled names (``all`` = every bundled one) and files."""
    known = bundled()
    out: list[Framework] = []
    for raw in names:
        for name in (n.strip().lower() for n in raw.split(",")):
            if not name:
                continue
            if name == "all":
                out.extend(f for f in known.values() if f not in out)
                continue
            if name not in known:
                raise UsageError(f"unknown framework {name!r} (one of "
                                 f"{', '.join(BUNDLED_NAMES)}, all; or --framework-file)")
            if known[name] not in out:
                out.append(known[name])
    for path in files:
        fw = load_framework_file(path)
        missing = fw.unknown_members(controls)
        if missing:
            raise UsageError(f"framework {fw.name} names unknown controls: "
                             f"{', '.join(missing)}", path)
        out.append(fw)
    return out
