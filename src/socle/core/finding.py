"""The one finding model every checker emits, and the report that collects them."""

from __future__ import annotations

import enum
import operator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from socle.core.errors import InputError


class Severity(enum.IntEnum):
    """Ordered severities; a threshold keeps findings at or above it."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r} (one of {names})") from None

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Resource:
    """What a finding is about: a Kubernetes-style identity."""

    api_version: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""

    @classmethod
    def of(cls, obj: Any) -> Resource:
        if not isinstance(obj, dict):
            return cls()
        meta = obj.get("metadata")
        meta = meta if isinstance(meta, dict) else {}

        def text(v: Any) -> str:  # (a YAML `name: y` is the boolean true: shown "true")
            if isinstance(v, str):
                return v
            return "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)

        return cls(text(obj.get("apiVersion")), text(obj.get("kind")),
                   text(meta.get("namespace")), text(meta.get("name")))

    def __str__(self) -> str:
        parts = [self.kind or "<no kind>"]
        if self.namespace:
            parts.append(f"{self.namespace}/{self.name}")
        else:
            parts.append(self.name or "<no name>")
        return " ".join(parts)

    def to_dict(self) -> dict[str, str]:
        return {"apiVersion": self.api_version, "kind": self.kind,
                "namespace": self.namespace, "name": self.name}

    # pickled as a constructor call (the dataclass default, a Python-level __getstate__ and
    # __setstate__ per object, was most of the cost of sending findings between processes)
    def __reduce__(self) -> tuple[Any, ...]:
        return (Resource, (self.api_version, self.kind, self.namespace, self.name))


@dataclass(slots=True)
class Finding:
    """One problem found in one document (or in one file when no document could be read)."""

    rule_id: str
    message: str
    severity: Severity = Severity.HIGH
    source: str = "schema"  # schema | policy | security | input | ...
    resource: Resource = field(default_factory=Resource)
    file: str = ""
    line: int = 0
    column: int = 0
    document_index: int = 0
    path: str = ""  # JSON path of the value, e.g. /spec/replicas
    remediation: str = ""
    references: dict[str, list[str]] = field(default_factory=dict)
    help_uri: str = ""
    title: str = ""
    # checker-specific fields the JSON writer carries as they are (security: evidence, fix,
    # status, exception); empty for most checkers
    extra: dict[str, Any] = field(default_factory=dict)

    def __reduce__(self) -> tuple[Any, ...]:  # see Resource.__reduce__
        return (Finding, (self.rule_id, self.message, self.severity, self.source, self.resource,
                          self.file, self.line, self.column, self.document_index, self.path,
                          self.remediation, self.references, self.help_uri, self.title,
                          self.extra))

    def location(self) -> str:
        if not self.file:
            return ""
        out = self.file
        if self.line:
            out += f":{self.line}"
            if self.column:
                out += f":{self.column}"
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ruleId": self.rule_id,
            "severity": str(self.severity),
            "message": self.message,
            "source": self.source,
            "resource": self.resource.to_dict(),
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "documentIndex": self.document_index,
            "path": self.path,
        }
        if self.title:
            out["title"] = self.title
        if self.remediation:
            out["remediation"] = self.remediation
        if self.references:
            out["references"] = self.references
        if self.help_uri:
            out["helpUri"] = self.help_uri
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out


class Status(enum.Enum):
    """The verdict for one document."""

    VALID = "valid"
    INVALID = "invalid"
    ERROR = "error"  # the document (or file) could not be read
    SKIPPED = "skipped"


@dataclass(slots=True)
class DocumentResult:
    """The verdict for one document, kept small so millions fit in memory."""

    file: str
    index: int
    line: int
    resource: Resource
    status: Status
    reason: str = ""  # why skipped / error

    def __reduce__(self) -> tuple[Any, ...]:  # see Resource.__reduce__
        return (DocumentResult, (self.file, self.index, self.line, self.resource, self.status,
                                 self.reason))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file, "documentIndex": self.index, "line": self.line,
                               "resource": self.resource.to_dict(), "status": self.status.value}
        if self.reason:
            out["reason"] = self.reason
        return out


class FileResults(Protocol):
    """What every checker gathers from one file (its per-file result types have these)."""

    errors: int
    findings: list[Finding]
    documents: list[DocumentResult]


def unreadable(out: FileResults, file: str, err: InputError | OSError) -> None:
    """Record a file (or a piece of one) that cannot be read or parsed: one
    ``input/parse-error`` finding and an error verdict, with the error's line if it has one."""
    if isinstance(err, OSError):
        message, reason, line, column = f"cannot read: {err.strerror}", str(err.strerror), 0, 0
    else:
        message = reason = err.message
        line, column = err.line or 0, err.column or 0
    out.errors += 1
    out.findings.append(Finding("input/parse-error", message, Severity.HIGH, "input",
                                Resource(), file, line, column))
    out.documents.append(DocumentResult(file, 0, line, Resource(), Status.ERROR, reason))


@dataclass(slots=True)
class Rule:
    """Metadata about a rule, for writers that describe rules (SARIF)."""

    id: str
    title: str
    help: str = ""
    help_uri: str = ""
    severity: Severity = Severity.HIGH


@dataclass
class Report:
    """Everything a run found; writers render it, the CLI turns it into an exit code."""

    tool: str = "socle"
    command: str = ""
    findings: list[Finding] = field(default_factory=list)
    documents: list[DocumentResult] = field(default_factory=list)
    rules: dict[str, Rule] = field(default_factory=dict)
    errors: int = 0  # inputs that could not be used (exit 2)
    files: int = 0
    stdin: bool = False  # the input was standard input alone (kubeconform: "parsing stdin")
    # command-specific sections writers may show (scan: scores, excepted findings, controls)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Status}
        for d in self.documents:
            out[d.status.value] += 1
        return out

    def exit_code(self, threshold: Severity = Severity.INFO, fail: bool = True) -> int:
        """2 when some input was unusable, 1 when findings at/above threshold, else 0."""
        if self.errors:
            return 2
        if fail and any(f.severity >= threshold for f in self.findings
                        if f.source != "input"):
            return 1
        return 0

    def sorted_findings(self) -> list[Finding]:
        return sorted(self.findings, key=_FINDING_ORDER)


_FINDING_ORDER = operator.attrgetter("file", "document_index", "line", "rule_id")
