"""Reports shared by the writer tests: the awkward cases every writer must survive."""

from __future__ import annotations

import io

from socle.core.finding import (
    DocumentResult,
    Finding,
    Report,
    Resource,
    Rule,
    Severity,
    Status,
)
from socle.outputs import WriterOptions, get

# Markup, JSON quoting, TAP directives, workflow-command separators, line breaks, characters
# XML 1.0 forbids (NUL, ESC, a C1 control), a non-BMP emoji and plain non-ASCII letters.
HOSTILE = ('bad <tag a="1"> & \'q\' ]]> # SKIP not really \\ 50% a:b,c\r\n'
           "::error::forged \x00\x1b\x85\x9f ü 😀 done")

DEPLOY = Resource("apps/v1", "Deployment", "shop", "web")
SERVICE = Resource("v1", "Service", "shop", "web")
WEIRD = Resource("v1", "ConfigMap", "", "cm-ü")
SECRET = Resource("v1", "Secret", "shop", "token")
ITEM_A = Resource("v1", "ConfigMap", "", "item-a")
ITEM_B = Resource("v1", "ConfigMap", "", "item-b")

WEIRD_FILE = "apps/wéird <&> file.yaml"


def sample_report() -> Report:
    """Two invalid documents, a valid one, a skipped one, an unreadable one, List items,
    findings with and without lines, and findings that match no document."""
    r = Report(command="validate", files=6, errors=1)
    r.rules["schema/required"] = Rule("schema/required", "A required property is missing",
                                      "Add the property.", "https://example.invalid/required",
                                      Severity.HIGH)
    r.rules["input/parse-error"] = Rule("input/parse-error", "The file cannot be read",
                                        "Fix the syntax.", severity=Severity.HIGH)
    r.documents += [
        DocumentResult("apps/web.yaml", 0, 1, DEPLOY, Status.INVALID),
        DocumentResult("apps/web.yaml", 1, 40, SERVICE, Status.VALID),
        DocumentResult(WEIRD_FILE, 0, 1, WEIRD, Status.INVALID),
        DocumentResult("secrets.yaml", 0, 1, SECRET, Status.SKIPPED, "skipped by -skip"),
        DocumentResult("broken.yaml", 0, 3, Resource(), Status.ERROR, "malformed YAML"),
        DocumentResult("list.yaml", 0, 1, ITEM_A, Status.VALID),
        DocumentResult("list.yaml", 0, 1, ITEM_B, Status.INVALID),
    ]
    r.findings += [
        Finding("schema/required", '/spec: "selector" is a required property', Severity.HIGH,
                "schema", DEPLOY, "apps/web.yaml", 5, 3, 0, "/spec"),
        Finding("security/run-as-root", "container runs as root", Severity.CRITICAL,
                "security", DEPLOY, "apps/web.yaml", 20, 0, 0,
                "/spec/template/spec/containers/0/securityContext",
                remediation="set runAsNonRoot: true", title="Container runs as root",
                references={"cis": ["5.2.6"]}, help_uri="https://example.invalid/root"),
        Finding("policy/labels", HOSTILE, Severity.MEDIUM, "policy", WEIRD, WEIRD_FILE, 0, 0, 0,
                "/metadata/labels"),
        Finding("policy/owner", "no owner annotation", Severity.LOW, "policy", WEIRD,
                WEIRD_FILE, 4, 0, 0),
        Finding("input/parse-error", "malformed YAML: did not find expected node content",
                Severity.HIGH, "input", Resource(), "broken.yaml", 3, 7, 0),
        Finding("schema/type", "/data/x: 1 is not of type 'string'", Severity.HIGH, "schema",
                ITEM_B, "list.yaml", 9, 5, 0, "/data/x"),
        # no document carries these
        Finding("policy/info-only", "consider a PodDisruptionBudget", Severity.INFO, "policy",
                Resource("apps/v1", "Deployment", "", "api"), "policy-only.yaml", 2, 1, 0),
    ]
    return r


def render(name: str, report: Report, **options: bool) -> str:
    out = io.StringIO()
    get(name).write(report, out, WriterOptions(**options))
    return out.getvalue()

