"""Exceptions: accepted risks, reviewed next to the code.

Three sources, all reported (the finding is kept with ``status: excepted``, it does not fail):

* inline annotations on the resource: ``socle.dev/skip: "SCL-001,SCL-002"`` (ids or names, or
  ``all``), ``socle.dev/skip-reason``, ``socle.dev/skip-until: 2026-12-31``;
* an exceptions file (``--exceptions FILE``): a YAML list of
  ``{controls, kinds, namespaces, names, labels, reason, until}``, and Kubescape's
  ``postureExceptionPolicy`` entries as they are;
* other tools' ignore annotations, mapped through each control's ``references``: Kubescape
  (``kubescape.io/skip-controls`` with C-ids, ``kubescape.io/skip-reason``,
  ``kubescape.io/skip-expiry``, ``kubescape.io/ignore: "true"``), Checkov
  (``checkov.io/skip1: CKV_K8S_16=reason`` ... ``skipN``), kube-score
  (``kube-score/ignore: check,...``) and kube-linter (``ignore-check.kube-linter.io/<check>``).

An exception whose date has passed no longer applies, and is itself a failing finding.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from socle.core.errors import UsageError
from socle.core.finding import Finding, Resource, Severity
from socle.security.controls import Control

SKIP = "socle.dev/skip"
SKIP_REASON = "socle.dev/skip-reason"
SKIP_UNTIL = "socle.dev/skip-until"
KS_SKIP = "kubescape.io/skip-controls"
KS_REASON = "kubescape.io/skip-reason"
KS_EXPIRY = "kubescape.io/skip-expiry"
KS_IGNORE = "kubescape.io/ignore"
CHECKOV_SKIP = re.compile(r"^checkov\.io/skip\d+$")
KUBE_SCORE = "kube-score/ignore"
KUBE_LINTER = "ignore-check.kube-linter.io/"

EXPIRED_RULE = "SCL-EXPIRED-EXCEPTION"
INVALID_RULE = "SCL-INVALID-EXCEPTION"


@dataclass(frozen=True)
class Exception_:
    """Why a finding is accepted: where the exception comes from, its reason and end date."""

    source: str  # socle | kubescape | checkov | kube-score | kube-linter | file
    reason: str = ""
    until: str = ""
    where: str = ""  # file:line of an exceptions-file entry

    def to_dict(self) -> dict[str, str]:
        out = {"source": self.source}
        if self.reason:
            out["reason"] = self.reason
        if self.until:
            out["until"] = self.until
        if self.where:
            out["where"] = self.where
        return out


@dataclass
class Inline:
    """The inline exceptions of one resource: control id -> exception (``*`` for all)."""

    skips: dict[str, Exception_] = field(default_factory=dict)
    problems: list[tuple[str, str, list[str | int]]] = field(default_factory=list)


def _parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def _split(value: Any) -> list[str]:
    return [x.strip() for x in str(value).replace(";", ",").split(",") if x.strip()]


@dataclass
class ExceptionRule:
    """One entry of an exceptions file."""

    controls: list[str]
    kinds: list[re.Pattern[str]]
    namespaces: list[re.Pattern[str]]
    names: list[re.Pattern[str]]
    labels: dict[str, re.Pattern[str]]
    reason: str
    until: dt.date | None
    where: str
    # a Kubescape exception's posturePolicies: (controlID, frameworkName) patterns, one pair
    # a policy (any policy matching is enough; in one, every pattern given must match)
    kubescape: list[tuple[re.Pattern[str] | None, re.Pattern[str] | None]] | None = None

    def matches(self, control: Control, resource: Resource, labels: dict[str, Any]) -> bool:
        if self.controls and not any(c in ("*", "all", control.id, control.name)
                                     for c in self.controls):
            return False
        if self.kubescape is not None and not any(
                _kubescape_policy(control, cid, fw) for cid, fw in self.kubescape):
            return False
        if self.kinds and not any(p.fullmatch(resource.kind) for p in self.kinds):
            return False
        ns = resource.namespace or "default"
        if self.namespaces and not any(p.fullmatch(ns) for p in self.namespaces):
            return False
        if self.names and not any(p.fullmatch(resource.name) for p in self.names):
            return False
        for key, pattern in self.labels.items():
            value = labels.get(key)
            if value is None or not pattern.fullmatch(str(value)):
                return False
        return True


def load_exceptions_file(path: str) -> list[ExceptionRule]:
    """Read an exceptions file; a UsageError with file:line when an entry is wrong."""
    from socle.formats.yaml import iter_documents

    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as err:
        raise UsageError(f"cannot read exceptions: {err.strerror}", path) from None
    docs = list(iter_documents(data, path))
    if not docs:
        return []
    doc = docs[0]
    if doc.error is not None:
        raise UsageError(doc.error.message, path, doc.error.line)
    items = doc.obj
    if isinstance(items, dict) and isinstance(items.get("exceptions"), list):
        items = items["exceptions"]
        base: tuple[str | int, ...] = ("exceptions",)
    else:
        base = ()
    if not isinstance(items, list):
        raise UsageError("exceptions must be a list of entries", path, doc.line)
    out = []
    for i, item in enumerate(items):
        if isinstance(item, dict) and (item.get("policyType") == "postureExceptionPolicy"
                                       or "posturePolicies" in item):
            out.extend(_kubescape_rules(item, path, doc.line_of([*base, i]), doc, [*base, i]))
            continue
        line = doc.line_of([*base, i])
        if not isinstance(item, dict):
            raise UsageError("an exception must be a mapping", path, line)
        unknown = set(item) - {"controls", "kinds", "namespaces", "names", "labels", "reason",
                               "until"}
        if unknown:
            raise UsageError(f"unknown key {sorted(unknown)[0]!r} in exception", path, line)

        def patterns(key: str, item: dict[str, Any] = item, line: int = line
                     ) -> list[re.Pattern[str]]:
            out_p = []
            for text in _listify(item.get(key)):
                try:
                    out_p.append(re.compile(text))
                except re.error as err:
                    raise UsageError(f"{key}: invalid regular expression {text!r}: {err}",
                                     path, line) from None
            return out_p

        labels_raw = item.get("labels") or {}
        if not isinstance(labels_raw, dict):
            raise UsageError("labels must be a mapping", path, line)
        labels = {}
        for k, v in labels_raw.items():
            try:
                labels[str(k)] = re.compile(str(v))
            except re.error as err:
                raise UsageError(f"labels: invalid regular expression {v!r}: {err}", path,
                                 line) from None
        until = None
        if item.get("until") not in (None, ""):
            until = _parse_date(item["until"])
            if until is None:
                raise UsageError(f"until: {item['until']!r} is not a date (YYYY-MM-DD)", path,
                                 doc.line_of([*base, i, "until"]))
        controls = [c for v in _listify(item.get("controls")) for c in _split(v)]
        if not controls and not any(item.get(k) for k in ("kinds", "namespaces", "names",
                                                          "labels")):
            raise UsageError("an exception must name controls or select resources", path, line)
        out.append(ExceptionRule(controls, patterns("kinds"), patterns("namespaces"),
                                 patterns("names"), labels, str(item.get("reason") or ""),
                                 until, f"{path}:{line}"))
    return out


# Kubescape's framework names, and the references that make socle's frameworks of the same
# name ("AllControls" is every control)
_KUBESCAPE_FRAMEWORKS = (("NSA", "nsa"), ("MITRE", "mitre"), ("cis-v1.23-t1.0.1", "cis"))


def _kubescape_policy(control: Control, control_id: re.Pattern[str] | None,
                      framework: re.Pattern[str] | None) -> bool:
    """Whether one of a Kubescape exception's posturePolicies covers ``control``."""
    if control_id is not None and not any(
            control_id.fullmatch(ref) for ref in control.references.get("kubescape", [])):
        return False
    if framework is None or framework.fullmatch("AllControls"):
        return True
    return any(framework.fullmatch(name) and control.references.get(ref)
               for name, ref in _KUBESCAPE_FRAMEWORKS)


def _kubescape_rules(item: dict[str, Any], path: str, line: int, doc: Any,
                     at: list[str | int]) -> list[ExceptionRule]:
    """A Kubescape exception (``policyType: postureExceptionPolicy``) as socle's rules: one
    per resource designator (any of them), its posture policies (any of them) on each.
    Attribute values are regular expressions matched in full, as Kubescape matches them;
    other attributes are labels, matched exactly."""
    def bad(message: str, where: list[str | int] | None = None) -> UsageError:
        return UsageError(f"Kubescape exception {item.get('name', '')!r}: {message}", path,
                          doc.line_of([*at, *(where or [])]) if where else line)

    def pattern(text: Any, where: list[str | int]) -> re.Pattern[str]:
        try:
            return re.compile(str(text))
        except re.error as err:
            raise bad(f"invalid regular expression {text!r}: {err}", where) from None

    policies: list[tuple[re.Pattern[str] | None, re.Pattern[str] | None]] = []
    raw_policies = item.get("posturePolicies")
    if not isinstance(raw_policies, list) or not raw_policies:
        raise bad("posturePolicies must be a non-empty list (Kubescape needs one at least)")
    for j, pol in enumerate(raw_policies):
        where: list[str | int] = ["posturePolicies", j]
        if not isinstance(pol, dict) or not pol:
            raise bad("a posture policy must be a mapping", where)
        unsupported = sorted(set(pol) - {"controlID", "frameworkName"})
        if unsupported:
            raise bad(f"posturePolicies: {unsupported[0]} is not supported (socle maps "
                      "Kubescape's controls by controlID, and frameworkName); write the "
                      "control's ID, such as controlID: C-0048", where)
        policies.append((pattern(pol["controlID"], where) if "controlID" in pol else None,
                         pattern(pol["frameworkName"], where) if "frameworkName" in pol
                         else None))
    designators = item.get("resources")
    if not isinstance(designators, list) or not designators:
        raise bad("resources must be a non-empty list (Kubescape needs one at least)")
    reason = f"Kubescape exception {item.get('name', '')}".strip()
    out = []
    for j, des in enumerate(designators):
        where = ["resources", j]
        attrs = des.get("attributes") if isinstance(des, dict) else None
        if not isinstance(des, dict) or des.get("designatorType", "Attributes") != "Attributes" \
                or not isinstance(attrs, dict):
            raise bad("a resource designator must be {designatorType: Attributes, "
                      "attributes: {...}}", where)
        if "cluster" in attrs:
            continue  # (a file names no cluster: such an exception does not apply here)
        labels = {str(k): re.compile(re.escape(str(v))) for k, v in attrs.items()
                  if k not in ("kind", "name", "namespace")}
        out.append(ExceptionRule(
            [], [pattern(attrs["kind"], where)] if "kind" in attrs else [],
            [pattern(attrs["namespace"], where)] if "namespace" in attrs else [],
            [pattern(attrs["name"], where)] if "name" in attrs else [], labels, reason, None,
            f"{path}:{doc.line_of([*at, *where])}", policies))
    return out


def _listify(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


class Exceptions:
    """Decides, for one resource and one control, whether a finding is excepted."""

    def __init__(self, controls: list[Control], rules: list[ExceptionRule] | None = None,
                 today: dt.date | None = None) -> None:
        self.rules = rules or []
        self.today = today or dt.date.today()
        self.by_kubescape: dict[str, set[str]] = {}
        self.by_checkov: dict[str, set[str]] = {}
        self.by_kube_score: dict[str, set[str]] = {}
        self.by_kube_linter: dict[str, set[str]] = {}
        self.by_name: dict[str, str] = {}
        for c in controls:
            self.by_name[c.name] = c.id
            self.by_name[c.id] = c.id
            for key, table in (("kubescape", self.by_kubescape), ("checkov", self.by_checkov),
                               ("kube-score", self.by_kube_score),
                               ("kube-linter", self.by_kube_linter)):
                for ref in c.references.get(key, []):
                    table.setdefault(ref.upper() if key != "kube-score" else ref, set()).add(
                        c.id)

    def expired_rules(self) -> list[ExceptionRule]:
        return [r for r in self.rules if r.until is not None and r.until < self.today]

    def inline(self, obj: Any) -> Inline:
        """Parse the exception annotations (and Kubescape's ignore label) of one resource."""
        out = Inline()
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        if not isinstance(meta, dict):
            return out
        ann = meta.get("annotations")
        ann = ann if isinstance(ann, dict) else {}
        labels = meta.get("labels")
        labels = labels if isinstance(labels, dict) else {}
        if not ann and (not labels or KS_IGNORE not in labels):
            return out  # (labels matter only for Kubescape's ignore label)
        apath: list[str | int] = ["metadata", "annotations"]

        def add(ids: set[str], exc: Exception_) -> None:
            for cid in ids:
                out.skips.setdefault(cid, exc)

        def expiry(key: str, value: Any, source: str, ids: set[str]) -> tuple[bool, str]:
            if value in (None, ""):
                return True, ""
            day = _parse_date(value)
            shown = str(value)
            if day is None:
                out.problems.append((INVALID_RULE, f"{source} exception for "
                                     f"{', '.join(sorted(ids)) or 'all controls'}: {key} "
                                     f"{shown!r} is not a date (YYYY-MM-DD); the exception "
                                     "does not apply", [*apath, key]))
                return False, shown
            if day < self.today:
                out.problems.append((EXPIRED_RULE, f"{source} exception for "
                                     f"{', '.join(sorted(ids)) or 'all controls'} expired on "
                                     f"{day.isoformat()}; renew it or fix the resource",
                                     [*apath, key]))
                return False, shown
            return True, day.isoformat()

        if SKIP in ann:
            ids = set()
            for token in _split(ann[SKIP]):
                if token.lower() in ("all", "*"):
                    ids.add("*")
                else:
                    ids.add(self.by_name.get(token, token))
            ok, until = expiry(SKIP_UNTIL, ann.get(SKIP_UNTIL), "socle.dev/skip", ids)
            if ok:
                add(ids, Exception_("socle", str(ann.get(SKIP_REASON) or ""), until))
        if KS_SKIP in ann:
            ids = set()
            for token in _split(ann[KS_SKIP]):
                ids |= self.by_kubescape.get(token.upper(), set())
            ok, until = expiry(KS_EXPIRY, ann.get(KS_EXPIRY), "kubescape.io/skip-controls", ids)
            if ok:
                add(ids, Exception_("kubescape", str(ann.get(KS_REASON) or ""), until))
        for where in (ann, labels):
            if str(where.get(KS_IGNORE, "")).strip().lower() == "true":
                add({"*"}, Exception_("kubescape", "kubescape.io/ignore"))
        for key, value in ann.items():
            if isinstance(key, str) and CHECKOV_SKIP.match(key):
                check, _, reason = str(value).partition("=")
                add(self.by_checkov.get(check.strip().upper(), set()),
                    Exception_("checkov", reason.strip()))
            elif isinstance(key, str) and key.startswith(KUBE_LINTER):
                check = key[len(KUBE_LINTER):]
                add(self.by_kube_linter.get(check.upper(), set()),
                    Exception_("kube-linter", str(value or "")))
        if KUBE_SCORE in ann:
            for token in _split(ann[KUBE_SCORE]):
                add(self.by_kube_score.get(token, set()), Exception_("kube-score"))
        return out

    def lookup(self, inline: Inline, control: Control, resource: Resource,
               labels: dict[str, Any]) -> Exception_ | None:
        exc = inline.skips.get(control.id) or inline.skips.get("*")
        if exc is not None:
            return exc
        for rule in self.rules:
            if rule.until is not None and rule.until < self.today:
                continue
            if rule.matches(control, resource, labels):
                return Exception_("file", rule.reason,
                                  rule.until.isoformat() if rule.until else "", rule.where)
        return None


def expired_file_findings(exceptions: Exceptions) -> list[Finding]:
    """One failing finding per expired entry of the exceptions file, at its line."""
    out = []
    for rule in exceptions.expired_rules():
        file, _, line = rule.where.rpartition(":")
        what = ", ".join(rule.controls) or "matching resources"
        assert rule.until is not None
        out.append(Finding(
            rule_id=EXPIRED_RULE, title="Expired exception",
            message=f"exception for {what} expired on {rule.until.isoformat()}"
                    + (f" (reason: {rule.reason})" if rule.reason else "")
                    + "; renew it or fix the resources",
            severity=Severity.HIGH, source="security", file=file,
            line=int(line) if line.isdigit() else 0,
            remediation="Fix the resources it covered, or extend `until` after a review."))
    return out
