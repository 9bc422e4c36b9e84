"""Checks that JSON schema cannot express, run by ``socle validate`` after the schema check.

Each check mirrors a rule of the Kubernetes API server (severity HIGH: the server would reject
the object) or a mistake the server accepts but that is almost always a bug (MEDIUM):

* names: ``metadata.name`` / ``generateName`` / ``namespace`` per kind (DNS-1123 subdomain for
  most kinds and every custom resource, DNS-1123 label for Namespace and StatefulSet, RFC 1035
  label for Service, path segment for RBAC kinds; CronJob <= 52 and generated-selector Job
  <= 63 characters), container names (DNS-1123 labels);
* labels and annotations: qualified keys, label values, the 256 KiB annotation budget;
* pod specs: duplicate container names (containers, initContainers and ephemeralContainers
  share one namespace), duplicate ports and port names, invalid port names, duplicate env names;
* workload selectors: empty, malformed, or not matching the pod template's labels;
* across documents: a Service whose selector matches no pod template in its namespace.

Every function takes whatever shape the document has: a wrong type anywhere is skipped (the
schema check reports it), never raised. The per-document path is hot (it runs on every
document), so the common case is a few dict lookups and set membership tests; findings, JSON
pointers and line numbers are only computed for documents that have a problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from socle.core.document import Document, PathKey
from socle.core.finding import Finding, Resource, Rule, Severity

__all__ = ["RULES", "Facts", "check_document", "cross_check", "facts"]

_NAMES_URI = "https://kubernetes.io/docs/concepts/overview/working-with-objects/names/"
_LABELS_URI = "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/"
_ANNOTATIONS_URI = ("https://kubernetes.io/docs/concepts/overview/working-with-objects/"
                    "annotations/")
_SELECTOR_URI = (_LABELS_URI + "#label-selectors")
_PODS_URI = "https://kubernetes.io/docs/concepts/workloads/pods/"
_ENV_URI = ("https://kubernetes.io/docs/tasks/inject-data-application/"
            "define-environment-variable-container/")
_SERVICE_URI = "https://kubernetes.io/docs/concepts/services-networking/service/"


def _rule(id: str, title: str, help: str, uri: str, severity: Severity) -> Rule:
    return Rule(id=id, title=title, help=help, help_uri=uri, severity=severity)


RULES: dict[str, Rule] = {r.id: r for r in (
    _rule("k8s/invalid-name", "Name is not valid for this kind",
          "Kubernetes names are lower case: most kinds and all custom resources take a DNS "
          "subdomain (a-z, 0-9, '-' and '.', at most 253 characters), Namespace and "
          "StatefulSet a DNS label (a-z, 0-9 and '-', at most 63), Service an RFC 1035 label "
          "(a DNS label that starts with a letter), RBAC kinds any name without '/' or '%'. "
          "Container names and metadata.namespace are DNS labels. A CronJob name has at most "
          "52 characters and a Job name at most 63.", _NAMES_URI, Severity.HIGH),
    _rule("k8s/invalid-label", "Label key or value is not valid",
          "A label key is an optional DNS-subdomain prefix (at most 253 characters) and '/', "
          "then a name of at most 63 characters of [A-Za-z0-9], '-', '_' and '.' that starts "
          "and ends with a letter or digit. A value follows the same rule as the name but may "
          "be empty. This holds in metadata.labels, pod template labels and selectors.",
          _LABELS_URI, Severity.HIGH),
    _rule("k8s/invalid-annotation", "Annotation key is not valid or annotations are too large",
          "Annotation keys follow the label key rule (case does not matter); keys and values "
          "together may not exceed 256 KiB.", _ANNOTATIONS_URI, Severity.HIGH),
    _rule("k8s/duplicate-container-name", "Two containers of one pod share a name",
          "containers, initContainers and ephemeralContainers share one set of names; rename "
          "one of them.", _PODS_URI, Severity.HIGH),
    _rule("k8s/duplicate-container-port", "A port is declared twice in one pod",
          "Two ports with the same containerPort and protocol (and hostIP/hostPort) in the "
          "running containers of a pod are either a copy-paste leftover or two processes "
          "fighting over one port. The same hostPort twice is rejected by the API server.",
          _PODS_URI, Severity.MEDIUM),
    _rule("k8s/duplicate-port-name", "A port name is used twice",
          "Port names must be unique within a container (the API server rejects duplicates) "
          "and should be unique within a pod, or a Service targetPort by name is ambiguous.",
          _PODS_URI, Severity.HIGH),
    _rule("k8s/invalid-port-name", "Port name is not a valid IANA service name",
          "A port name has at most 15 characters of a-z, 0-9 and '-', at least one letter, "
          "and no leading, trailing or doubled '-'.", _PODS_URI, Severity.HIGH),
    _rule("k8s/duplicate-env-name", "An environment variable is defined twice",
          "The container sees only the last definition, and kubectl apply merges env by name; "
          "remove the duplicate.", _ENV_URI, Severity.MEDIUM),
    _rule("k8s/invalid-selector", "Label selector is not valid",
          "A workload selector may not be empty; In and NotIn need values, Exists and "
          "DoesNotExist take none; a Job's selector is generated unless "
          "spec.manualSelector is true.", _SELECTOR_URI, Severity.HIGH),
    _rule("k8s/selector-mismatch", "Workload selector does not match its pod template",
          "spec.selector must select the pod template's own labels (spec.template.metadata."
          "labels), or the API server rejects the workload.", _SELECTOR_URI, Severity.HIGH),
    _rule("k8s/service-selector-no-match", "Service selects no pod template in the input",
          "The Service's spec.selector matches none of the pod templates (Pods, Deployments, "
          "StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs, ReplicationControllers) of "
          "its namespace in the input, so it would have no endpoints. Fix the selector or the "
          "template labels, or the namespaces.", _SERVICE_URI, Severity.MEDIUM),
)}

# --- name and label grammars ---------------------------------------------------------------------

_DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(
    r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*")
_DNS1035_LABEL = re.compile(r"[a-z](?:[-a-z0-9]*[a-z0-9])?")
_QUALIFIED_PART = re.compile(r"(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_PORT_NAME = re.compile(r"[-a-z0-9]+")
_HAS_LETTER = re.compile(r"[a-z]")

_LABEL_MAX = 63
_SUBDOMAIN_MAX = 253
_ANNOTATIONS_MAX = 256 * 1024

# Strings already known to be valid: most manifests reuse a handful of label keys, values and
# container names, so a set lookup replaces a regex match. Bounded so a huge input cannot grow
# them without limit.
_CACHE_MAX = 8192
_OK_KEYS: set[str] = set()
_OK_VALUES: set[str] = set()
_OK_ANNOTATION_KEYS: set[str] = set()
_OK_DNS_LABELS: set[str] = set()
_OK_PORT_NAMES: set[str] = set()
_OK_NAMES: dict[str, set[str]] = {"subdomain": set(), "label": set(), "dns1035": set(),
                                  "path": set()}


def _remember(cache: set[str], text: str) -> None:
    if len(cache) < _CACHE_MAX:
        cache.add(text)


def _dns_label_problem(text: str) -> str | None:
    if len(text) > _LABEL_MAX:
        return f"must be at most {_LABEL_MAX} characters (has {len(text)})"
    if not _DNS_LABEL.fullmatch(text):
        return ("must be a DNS label: lower case letters, digits and '-', starting and "
                "ending with a letter or digit")
    return None


def _subdomain_problem(text: str) -> str | None:
    if len(text) > _SUBDOMAIN_MAX:
        return f"must be at most {_SUBDOMAIN_MAX} characters (has {len(text)})"
    if not _DNS_SUBDOMAIN.fullmatch(text):
        return ("must be a DNS subdomain: lower case letters, digits, '-' and '.', each "
                "dot-separated part starting and ending with a letter or digit")
    return None


def _dns1035_problem(text: str) -> str | None:
    if len(text) > _LABEL_MAX:
        return f"must be at most {_LABEL_MAX} characters (has {len(text)})"
    if not _DNS1035_LABEL.fullmatch(text):
        return ("must be an RFC 1035 label: lower case letters, digits and '-', starting "
                "with a letter and ending with a letter or digit")
    return None


def _path_segment_problem(text: str) -> str | None:
    if text in (".", ".."):
        return f"may not be {text!r}"
    bad = [c for c in ("/", "%") if c in text]
    if bad:
        return "may not contain " + " or ".join(repr(c) for c in bad)
    return None


_NAME_CHECKS = {
    "subdomain": _subdomain_problem,
    "label": _dns_label_problem,
    "dns1035": _dns1035_problem,
    "path": _path_segment_problem,
}


def _qualified_name_problem(key: str) -> str | None:
    """Why ``key`` is not a qualified name (label/annotation key), or None."""
    prefix, slash, name = key.rpartition("/")
    if slash:
        if "/" in prefix:
            return "may contain at most one '/'"
        if not prefix:
            return "has an empty prefix before '/'"
        problem = _subdomain_problem(prefix)
        if problem is not None:
            return f"prefix {prefix!r} {problem}"
    if not name:
        return "has an empty name part"
    if len(name) > _LABEL_MAX:
        return f"name part must be at most {_LABEL_MAX} characters (has {len(name)})"
    if not _QUALIFIED_PART.fullmatch(name):
        return ("name part must consist of letters, digits, '-', '_' and '.', starting and "
                "ending with a letter or digit")
    return None


def _label_value_problem(value: str) -> str | None:
    if len(value) > _LABEL_MAX:
        return f"must be at most {_LABEL_MAX} characters (has {len(value)})"
    if value and not _QUALIFIED_PART.fullmatch(value):
        return ("must be empty or consist of letters, digits, '-', '_' and '.', starting and "
                "ending with a letter or digit")
    return None


def _port_name_problem(name: str) -> str | None:
    if len(name) > 15:
        return f"must be at most 15 characters (has {len(name)})"
    if not _PORT_NAME.fullmatch(name):
        return "may contain only lower case letters, digits and '-'"
    if not _HAS_LETTER.search(name):
        return "must contain at least one letter"
    if name[0] == "-" or name[-1] == "-" or "--" in name:
        return "may not start or end with '-' or contain '--'"
    return None


# --- findings ------------------------------------------------------------------------------------


def _pointer(path: Iterable[str | int]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


class _Out:
    """The findings of one document; builds each Finding (and its line) only when needed."""

    __slots__ = ("_resource", "doc", "findings")

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.findings: list[Finding] = []
        self._resource: Resource | None = None

    def add(self, rule_id: str, path: PathKey, message: str, remediation: str = "",
            severity: Severity | None = None) -> None:
        rule = RULES[rule_id]
        doc = self.doc
        if self._resource is None:
            self._resource = doc.resource
        from socle.formats.lines import position  # (~3 ms of patterns; only with findings)

        line, column = position(doc, list(path))
        self.findings.append(Finding(
            rule_id=rule_id, message=message,
            severity=rule.severity if severity is None else severity, source="schema",
            resource=self._resource, file=doc.file, line=line, column=column,
            document_index=doc.index, path=_pointer(path),
            remediation=remediation or rule.help, help_uri=rule.help_uri, title=rule.title))


# --- kinds ---------------------------------------------------------------------------------------

# kind -> path of its pod template (a PodTemplateSpec: metadata + spec)
_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "PodTemplate": ("template",),
}
_WORKLOAD_GROUPS = frozenset(["", "apps", "extensions", "batch"])
_LABEL_SELECTOR_KINDS = frozenset(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"])
_RBAC_KINDS = frozenset(["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"])
# Configuration files that look like objects but are never sent to an API server.
_NOT_API_GROUPS = frozenset(["kustomize.config.k8s.io", "config.kubernetes.io"])


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


_NAME_RULES: dict[tuple[str, str], str] = {
    ("", "Service"): "dns1035",
    ("", "Namespace"): "label",
    ("apps", "StatefulSet"): "label",
    **{("rbac.authorization.k8s.io", kind): "path" for kind in _RBAC_KINDS},
    # kinds whose own validation accepts any name; only the REST path rule remains
    ("certificates.k8s.io", "CertificateSigningRequest"): "path",
    ("certificates.k8s.io", "ClusterTrustBundle"): "path",
    ("networking.k8s.io", "IPAddress"): "path",
}


def _get(obj: Any, *keys: str) -> Any:
    for key in keys:
        if type(obj) is not dict:
            return None
        obj = obj.get(key)
    return obj


# --- metadata ------------------------------------------------------------------------------------


def _check_labels(out: _Out, labels: dict[str, Any], path: PathKey, what: str) -> None:
    try:  # the common case: every key and value seen before
        if _OK_KEYS.issuperset(labels) and _OK_VALUES.issuperset(labels.values()):
            return
    except TypeError:  # an unhashable value; the slow path skips it
        pass
    for key, value in labels.items():
        if type(key) is not str:
            continue
        if key not in _OK_KEYS:
            problem = _qualified_name_problem(key)
            if problem is None:
                _remember(_OK_KEYS, key)
            else:
                out.add("k8s/invalid-label", (*path, key), f"{what} key {key!r} {problem}")
        if type(value) is str and value not in _OK_VALUES:
            problem = _label_value_problem(value)
            if problem is None:
                _remember(_OK_VALUES, value)
            else:
                out.add("k8s/invalid-label", (*path, key),
                        f"{what} value {value!r} of {key!r} {problem}")


def _check_annotations(out: _Out, annotations: dict[str, Any], path: PathKey) -> None:
    if not _OK_ANNOTATION_KEYS.issuperset(annotations):
        for key in annotations:
            if type(key) is not str or key in _OK_ANNOTATION_KEYS:
                continue
            problem = _qualified_name_problem(key.lower())
            if problem is None:
                _remember(_OK_ANNOTATION_KEYS, key)
            else:
                out.add("k8s/invalid-annotation", (*path, key),
                        f"annotation key {key!r} {problem}")
    text = out.doc.text
    if text is not None and len(text) * 4 < _ANNOTATIONS_MAX:
        return  # a UTF-8 character is at most 4 bytes: this document cannot be over the limit
    size = 0
    for key, value in annotations.items():
        if type(key) is str:
            size += len(key.encode("utf-8", "surrogatepass"))
        if type(value) is str:
            size += len(value.encode("utf-8", "surrogatepass"))
    if size > _ANNOTATIONS_MAX:
        out.add("k8s/invalid-annotation", path,
                f"annotations take {size} bytes; the limit is {_ANNOTATIONS_MAX} (256 KiB)",
                "Move large data (scripts, JSON blobs, last-applied configuration) into a "
                "ConfigMap, or apply with --server-side.")


def _check_template_meta(out: _Out, meta: Any, path: PathKey) -> None:
    if type(meta) is not dict:
        return
    labels = meta.get("labels")
    if type(labels) is dict and labels:
        _check_labels(out, labels, (*path, "labels"), "label")
    annotations = meta.get("annotations")
    if type(annotations) is dict and annotations:
        _check_annotations(out, annotations, (*path, "annotations"))


def _check_metadata(out: _Out, obj: dict[str, Any], meta: dict[str, Any], kind: str,
                    group: str) -> None:
    name = meta.get("name")
    rule = _NAME_RULES.get((group, kind), "subdomain")
    if type(name) is str and name and name not in _OK_NAMES[rule]:
        problem = _NAME_CHECKS[rule](name)
        if problem is None:
            problem = _length_problem(obj, kind, group, name)
            if problem is None and len(name) <= 52:
                _remember(_OK_NAMES[rule], name)
        if problem is not None:
            out.add("k8s/invalid-name", ("metadata", "name"),
                    f"{kind} name {name!r} {problem}")
    generate = meta.get("generateName")
    if type(generate) is str and generate:
        check = _NAME_CHECKS[rule]
        masked = generate[:-1] + "a" if generate.endswith("-") and rule != "path" else generate
        problem = check(masked)
        if problem is not None:
            out.add("k8s/invalid-name", ("metadata", "generateName"),
                    f"{kind} generateName {generate!r} {problem}")
    namespace = meta.get("namespace")
    if type(namespace) is str and namespace and namespace not in _OK_DNS_LABELS:
        problem = _dns_label_problem(namespace)
        if problem is None:
            _remember(_OK_DNS_LABELS, namespace)
        else:
            out.add("k8s/invalid-name", ("metadata", "namespace"),
                    f"namespace {namespace!r} {problem}")
    labels = meta.get("labels")
    if type(labels) is dict and labels:
        _check_labels(out, labels, ("metadata", "labels"), "label")
    annotations = meta.get("annotations")
    if type(annotations) is dict and annotations:
        _check_annotations(out, annotations, ("metadata", "annotations"))


def _length_problem(obj: dict[str, Any], kind: str, group: str, name: str) -> str | None:
    """Length limits that come from names the controllers derive from this one."""
    if group != "batch" or len(name) <= 52:
        return None
    if kind == "CronJob":
        return (f"must be at most 52 characters (has {len(name)}): the Jobs it creates "
                "append an 11-character suffix and must fit in 63")
    if kind == "Job" and len(name) > _LABEL_MAX and _get(obj, "spec", "manualSelector") is not True:
        return (f"must be at most {_LABEL_MAX} characters (has {len(name)}): it becomes the "
                "value of the job-name label of its pods")
    return None


# --- pod specs -----------------------------------------------------------------------------------

_CONTAINER_FIELDS = ("containers", "initContainers", "ephemeralContainers")


def _where(path: PathKey) -> str:
    """``containers[1].ports[0]`` for a path inside a pod spec."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def _check_pod_spec(out: _Out, spec: dict[str, Any], base: PathKey) -> None:
    names: dict[str, PathKey] = {}
    # ports seen so far in the pod: (number, protocol, hostIP, hostPort) -> where; hostPort
    # keys; port names -> where (created only for pods that declare ports)
    pod_ports: tuple[dict[Any, PathKey], dict[Any, PathKey], dict[str, PathKey]] | None = None
    for field in _CONTAINER_FIELDS:
        containers = spec.get(field)
        if type(containers) is not list:
            continue
        for i, c in enumerate(containers):
            if type(c) is not dict:
                continue
            name = c.get("name")
            if type(name) is str:
                if name in names:
                    out.add("k8s/duplicate-container-name", (*base, field, i, "name"),
                            f"container name {name!r} is already used by "
                            f"{_where(names[name])}",
                            "Give every container, init container and ephemeral container of "
                            "the pod its own name.")
                else:
                    names[name] = (field, i)
                if name not in _OK_DNS_LABELS:
                    problem = _dns_label_problem(name)
                    if problem is None:
                        _remember(_OK_DNS_LABELS, name)
                    else:
                        out.add("k8s/invalid-name", (*base, field, i, "name"),
                                f"container name {name!r} {problem}")
            ports = c.get("ports")
            if ports and type(ports) is list and field != "ephemeralContainers":
                if pod_ports is None:
                    pod_ports = ({}, {}, {})
                regular = field == "containers"
                _check_ports(out, ports, base, field, i,
                             regular or c.get("restartPolicy") == "Always", regular, pod_ports)
            env = c.get("env")
            if type(env) is list and len(env) > 1:
                _check_env(out, env, base, field, i)


def _check_ports(out: _Out, ports: list[Any], base: PathKey, field: str, i: int, running: bool,
                 regular: bool,
                 pod: tuple[dict[Any, PathKey], dict[Any, PathKey], dict[str, PathKey]]) -> None:
    numbers, host, pod_names = pod
    for j, p in enumerate(ports):
        if type(p) is not dict:
            continue
        pname = p.get("name")
        if pname and type(pname) is str:
            first = pod_names.get(pname)
            if first is None and pname in _OK_PORT_NAMES:
                pod_names[pname] = (field, i, "ports", j)
            else:
                _port_name(out, pname, first, base, field, i, j, running, pod_names)
        if not running:
            continue
        number = p.get("containerPort")
        protocol = p.get("protocol") or "TCP"
        host_port = p.get("hostPort") or 0
        host_ip = (p.get("hostIP") or "") if host_port else ""
        if (type(number) is not int or type(protocol) is not str or type(host_ip) is not str
                or type(host_port) is not int):
            continue
        if host_port and regular:
            hkey = (host_port, protocol, host_ip)
            if hkey in host:
                out.add("k8s/duplicate-container-port", (*base, field, i, "ports", j),
                        f"hostPort {host_port}/{protocol} is already used by "
                        f"{_where(host[hkey])}",
                        "Use a different hostPort, or drop hostPort and use a Service.",
                        Severity.HIGH)
                continue
            host[hkey] = (field, i, "ports", j)
        key = (number, protocol, host_ip, host_port)
        if key in numbers:
            out.add("k8s/duplicate-container-port", (*base, field, i, "ports", j),
                    f"port {number}/{protocol} is already declared by {_where(numbers[key])}",
                    "Remove the duplicate, or give the second process another port.")
        else:
            numbers[key] = (field, i, "ports", j)


def _port_name(out: _Out, pname: str, first: PathKey | None, base: PathKey, field: str, i: int,
               j: int, running: bool, pod_names: dict[str, PathKey]) -> None:
    """A port name not seen valid before, or seen before in this pod."""
    if pname not in _OK_PORT_NAMES:
        problem = _port_name_problem(pname)
        if problem is not None:
            out.add("k8s/invalid-port-name", (*base, field, i, "ports", j, "name"),
                    f"port name {pname!r} {problem}")
            return
        _remember(_OK_PORT_NAMES, pname)
    if first is None:
        pod_names[pname] = (field, i, "ports", j)
    elif first[:2] == (field, i):
        out.add("k8s/duplicate-port-name", (*base, field, i, "ports", j, "name"),
                f"port name {pname!r} is already used by {_where(first)} of the same "
                "container")
    elif running and first[0] == "containers":  # containers come first: see _CONTAINER_FIELDS
        out.add("k8s/duplicate-port-name", (*base, field, i, "ports", j, "name"),
                f"port name {pname!r} is already used by {_where(first)}; a Service "
                "targetPort by this name is ambiguous",
                "Give each port of the pod its own name.", Severity.MEDIUM)


def _check_env(out: _Out, env: list[Any], base: PathKey, field: str, i: int) -> None:
    try:  # the common case: all names distinct
        names = [e.get("name") for e in env if type(e) is dict]
        if len(set(names)) == len(names):
            return
    except TypeError:  # an unhashable name; the slow path skips it
        pass
    seen: dict[str, int] = {}
    for k, e in enumerate(env):
        if type(e) is not dict:
            continue
        name = e.get("name")
        if type(name) is not str:
            continue
        if name in seen:
            out.add("k8s/duplicate-env-name", (*base, field, i, "env", k, "name"),
                    f"environment variable {name!r} is already defined at env[{seen[name]}]; "
                    "the container sees only the last value")
        else:
            seen[name] = k


# --- selectors -----------------------------------------------------------------------------------

_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def _selector_labels(out: _Out, selector: dict[str, Any], path: PathKey) -> None:
    match_labels = selector.get("matchLabels")
    if type(match_labels) is dict and match_labels:
        _check_labels(out, match_labels, (*path, "matchLabels"), "selector")
    exprs = selector.get("matchExpressions")
    if type(exprs) is not list:
        return
    for i, e in enumerate(exprs):
        if type(e) is not dict:
            continue
        key = e.get("key")
        if type(key) is str and key not in _OK_KEYS:
            problem = _qualified_name_problem(key)
            if problem is None:
                _remember(_OK_KEYS, key)
            else:
                out.add("k8s/invalid-label", (*path, "matchExpressions", i, "key"),
                        f"selector key {key!r} {problem}")
        values = e.get("values")
        if type(values) is list:
            for j, v in enumerate(values):
                if type(v) is str and v not in _OK_VALUES:
                    problem = _label_value_problem(v)
                    if problem is None:
                        _remember(_OK_VALUES, v)
                    else:
                        out.add("k8s/invalid-label",
                                (*path, "matchExpressions", i, "values", j),
                                f"selector value {v!r} {problem}")


def _expression_problem(e: dict[str, Any]) -> str | None:
    op = e.get("operator")
    values = e.get("values")
    count = len(values) if type(values) is list else 0
    if op in ("In", "NotIn"):
        if count == 0:
            return f"operator {op} needs at least one value"
    elif op in ("Exists", "DoesNotExist"):
        if count:
            return f"operator {op} takes no values"
    elif type(op) is str:
        return f"unknown operator {op!r} (one of {', '.join(_OPERATORS)})"
    return None


def _unmatched(selector: dict[str, Any], labels: dict[str, Any]) -> str | None:
    """The first requirement of a LabelSelector that ``labels`` fails, or None if it matches.

    Requirements whose shape is wrong are ignored here (reported elsewhere)."""
    match_labels = selector.get("matchLabels")
    if type(match_labels) is dict:
        for k, v in match_labels.items():
            got = labels.get(k)
            if got != v:
                has = "has no such label" if got is None else f"has {k}={got}"
                return f"matchLabels {k}={v} but the template {has}"
    exprs = selector.get("matchExpressions")
    if type(exprs) is list:
        for e in exprs:
            if type(e) is not dict:
                continue
            key, op, values = e.get("key"), e.get("operator"), e.get("values")
            if type(key) is not str:
                continue
            vals = values if type(values) is list else []
            got = labels.get(key)
            if op == "In" and (got is None or got not in vals):
                return f"{key} In {vals} but the template has {_show(key, got)}"
            if op == "NotIn" and got is not None and got in vals:
                return f"{key} NotIn {vals} but the template has {key}={got}"
            if op == "Exists" and got is None:
                return f"{key} Exists but the template has no such label"
            if op == "DoesNotExist" and got is not None:
                return f"{key} DoesNotExist but the template has {key}={got}"
    return None


def _show(key: str, value: Any) -> str:
    return "no such label" if value is None else f"{key}={value}"


def _check_workload_selector(out: _Out, obj: dict[str, Any], kind: str, spec: dict[str, Any],
                             spec_path: PathKey, template: Any) -> None:
    selector = spec.get("selector")
    tmeta = template.get("metadata") if type(template) is dict else None
    labels = tmeta.get("labels") if type(tmeta) is dict else None
    if labels is None:
        labels = {}
    if kind in _LABEL_SELECTOR_KINDS and type(selector) is dict and len(selector) == 1 and type(
            labels) is dict:
        # the common case: matchLabels alone, known-good, and carried by the template
        match_labels = selector.get("matchLabels")
        if type(match_labels) is dict and match_labels:
            try:
                if (_OK_KEYS.issuperset(match_labels)
                        and _OK_VALUES.issuperset(match_labels.values())
                        and match_labels.items() <= labels.items()):
                    return
            except TypeError:
                pass
    sel_path = (*spec_path, "selector")
    labels_path = (*spec_path, "template", "metadata", "labels")
    if kind == "ReplicationController":
        if type(selector) is not dict or not selector or type(labels) is not dict:
            return  # an empty selector is defaulted from the template labels
        _check_labels(out, selector, sel_path, "selector")
        for k, v in selector.items():
            got = labels.get(k)
            if got != v:
                out.add("k8s/selector-mismatch", labels_path if labels else sel_path,
                        f"spec.selector does not match the pod template's labels: selector "
                        f"{k}={v} but the template {_template_has(k, got)}",
                        _MISMATCH_FIX)
                return
        return
    if type(selector) is not dict:
        return
    _selector_labels(out, selector, sel_path)
    invalid = False
    exprs = selector.get("matchExpressions")
    if type(exprs) is list:
        for i, e in enumerate(exprs):
            if type(e) is dict:
                problem = _expression_problem(e)
                if problem is not None:
                    invalid = True
                    out.add("k8s/invalid-selector", (*sel_path, "matchExpressions", i),
                            f"matchExpressions[{i}]: {problem}")
    match_labels = selector.get("matchLabels")
    empty = not (type(match_labels) is dict and match_labels) and not (
        type(exprs) is list and exprs)
    if kind in ("Job", "CronJob"):
        if _get(spec, "manualSelector") is not True:
            if not _generated_selector_ok(selector, obj, kind):
                out.add("k8s/invalid-selector", sel_path,
                        f"{kind} spec.selector is set but spec.manualSelector is not true; the "
                        "API server generates the selector and rejects one it did not make",
                        "Remove spec.selector (recommended), or set spec.manualSelector: true "
                        "and make the selector match the template labels.")
            return
    elif empty:
        out.add("k8s/invalid-selector", sel_path,
                f"an empty selector is not allowed for a {kind}",
                "Select the pod template's labels, e.g. matchLabels: {app: <name>}.")
        return
    if invalid or type(labels) is not dict or empty:
        return
    problem = _unmatched(selector, labels)
    if problem is not None:
        out.add("k8s/selector-mismatch", labels_path if labels else sel_path,
                f"spec.selector does not match the pod template's labels: {problem}",
                _MISMATCH_FIX)


_MISMATCH_FIX = ("Make spec.template.metadata.labels carry every label the selector requires "
                 "(the selector of an existing workload cannot be changed, so fix the labels).")


def _template_has(key: str, got: Any) -> str:
    return "has no such label" if got is None else f"has {key}={got}"


_JOB_NAME_KEYS = ("job-name", "batch.kubernetes.io/job-name")
_UID_KEYS = ("controller-uid", "batch.kubernetes.io/controller-uid")


def _generated_selector_ok(selector: dict[str, Any], obj: dict[str, Any], kind: str) -> bool:
    """Whether a selector given without manualSelector could still pass: it must match the
    labels the server generates (job-name and controller-uid, whose value we cannot know)."""
    match_labels = selector.get("matchLabels")
    exprs = selector.get("matchExpressions")
    if type(exprs) is list and exprs:
        return True  # too rare to judge; the server will say
    if type(match_labels) is not dict:
        return True
    name = _get(obj, "metadata", "name")
    for k, v in match_labels.items():
        if k in _UID_KEYS:
            continue
        if k in _JOB_NAME_KEYS and kind == "Job" and v == name:
            continue
        return False
    return True


# --- one document --------------------------------------------------------------------------------


def check_document(doc: Document) -> list[Finding]:
    """Findings of the per-document checks (an empty list for a clean document)."""
    obj = doc.obj
    if type(obj) is not dict:
        return []
    kind = obj.get("kind")
    api_version = obj.get("apiVersion")
    if type(kind) is not str or type(api_version) is not str:
        return []
    group = _group(api_version)
    if group in _NOT_API_GROUPS:
        return []
    out = _Out(doc)
    meta = obj.get("metadata")
    if type(meta) is dict:
        _check_metadata(out, obj, meta, kind, group)
    if kind == "Pod" and group == "":
        spec = obj.get("spec")
        if type(spec) is dict:
            _check_pod_spec(out, spec, ("spec",))
    else:
        if kind in _TEMPLATE_PATHS and group in _WORKLOAD_GROUPS:
            _check_workload(out, obj, kind)
        elif kind == "Service" and group == "":
            selector = _get(obj, "spec", "selector")
            if type(selector) is dict and selector:
                _check_labels(out, selector, ("spec", "selector"), "selector")
    return out.findings


# kind -> (its pod template's metadata path, its pod spec path), built once
_TEMPLATE_PARTS: dict[str, tuple[PathKey, PathKey]] = {
    kind: ((*path, "metadata"), (*path, "spec")) for kind, path in _TEMPLATE_PATHS.items()}
_SPEC: PathKey = ("spec",)
_JOB_TEMPLATE_SPEC: PathKey = ("spec", "jobTemplate", "spec")
_JOB_TEMPLATE_META: PathKey = ("spec", "jobTemplate", "metadata")


def _check_workload(out: _Out, obj: dict[str, Any], kind: str) -> None:
    meta_path, spec_path = _TEMPLATE_PARTS[kind]
    spec = obj.get("spec")
    if kind == "CronJob":
        job_template = spec.get("jobTemplate") if type(spec) is dict else None
        if type(job_template) is not dict:
            return
        job_spec = job_template.get("spec")
        template = job_spec.get("template") if type(job_spec) is dict else None
        if type(job_spec) is dict and job_spec.get("selector") is not None:
            _check_workload_selector(out, obj, kind, job_spec, _JOB_TEMPLATE_SPEC, template)
        _check_template_meta(out, job_template.get("metadata"), _JOB_TEMPLATE_META)
    elif kind == "PodTemplate":
        template = obj.get("template")
    else:
        if type(spec) is not dict:
            return
        template = spec.get("template")
        _check_workload_selector(out, obj, kind, spec, _SPEC, template)
    if type(template) is not dict:
        return
    _check_template_meta(out, template.get("metadata"), meta_path)
    pod_spec = template.get("spec")
    if type(pod_spec) is dict:
        _check_pod_spec(out, pod_spec, spec_path)


# --- facts and the cross-document check ----------------------------------------------------------


@dataclass(slots=True)
class Facts:
    """What the cross-document check needs from one document; small and picklable.

    A workload (or Pod) carries the labels of its pod template(s); a Service carries its
    selector and, in ``locator``, what it takes to find the selector's line later (the line is
    only computed when a finding needs it: most Services are fine and computing positions
    costs as much as parsing)."""

    kind: str
    namespace: str
    name: str
    file: str
    line: int
    document_index: int
    resource: Resource
    selector: tuple[tuple[str, str], ...] = ()
    templates: tuple[dict[str, Any], ...] = ()
    locator: Document | None = None

    def selector_position(self) -> tuple[int, int]:
        if self.locator is None:
            return (self.line, 0)
        from socle.formats.lines import position

        return position(self.locator, ["spec", "selector"])

    def __reduce__(self) -> tuple[Any, ...]:
        # a constructor call, as Resource and Document pickle: the dataclass default (a
        # Python-level __getstate__/__setstate__ per object) cost several times more
        return (Facts, (self.kind, self.namespace, self.name, self.file, self.line,
                        self.document_index, self.resource, self.selector, self.templates,
                        self.locator))


def facts(doc: Document) -> Facts | None:
    """The summary of a workload, Pod or selecting Service; None for any other document."""
    obj = doc.obj
    if type(obj) is not dict:
        return None
    kind = obj.get("kind")
    api_version = obj.get("apiVersion")
    if type(kind) is not str or type(api_version) is not str:
        return None
    group = _group(api_version)
    meta = obj.get("metadata")
    if type(meta) is not dict:
        meta = {}
    namespace = meta.get("namespace")
    if type(namespace) is not str or not namespace:
        namespace = "default"
    name = meta.get("name")
    if type(name) is not str:
        name = ""
    if kind == "Service" and group == "":
        spec = obj.get("spec")
        if type(spec) is not dict or spec.get("type") == "ExternalName":
            return None
        selector = spec.get("selector")
        if type(selector) is not dict or not selector:
            return None
        if not all(type(k) is str and type(v) is str for k, v in selector.items()):
            return None
        pairs = tuple(sorted(selector.items()))
        locator = Document(obj=None, file=doc.file, index=doc.index, line=doc.line,
                           text=doc.text, format=doc.format, base_path=doc.base_path,
                           _positions=doc._positions, _locate=doc._locate)
        return Facts(kind, namespace, name, doc.file, doc.line, doc.index, doc.resource,
                     selector=pairs, locator=locator)
    if kind == "Pod" and group == "":
        labels: Any = meta.get("labels")
    elif kind in _TEMPLATE_PATHS and group in _WORKLOAD_GROUPS:
        if kind == "PodTemplate":
            return None  # a template for others to use; it makes no pods itself
        spec = obj.get("spec")
        if kind == "CronJob":
            spec = _get(spec, "jobTemplate", "spec")
        template = spec.get("template") if type(spec) is dict else None
        tmeta = template.get("metadata") if type(template) is dict else None
        labels = tmeta.get("labels") if type(tmeta) is dict else None
    elif type(_get(obj, "spec", "template", "spec")) is dict:
        # a custom workload with a pod template (Argo Rollout, OpenKruise CloneSet, ...)
        labels = _get(obj, "spec", "template", "metadata", "labels")
    else:
        return None
    if type(labels) is not dict:
        labels = {}
    return Facts(kind, namespace, name, doc.file, doc.line, doc.index, doc.resource,
                 templates=(labels,))


def _implicit(key: str, value: str, kind: str, name: str) -> bool:
    """Labels the controllers add to the pods they create (values not in the manifest)."""
    if kind in ("Deployment", "ReplicaSet"):
        return key == "pod-template-hash"
    if kind == "StatefulSet":
        if key == "statefulset.kubernetes.io/pod-name":
            head, _, index = value.rpartition("-")
            return head == name and index.isdigit()
        if key == "apps.kubernetes.io/pod-index":
            return value.isdigit()
        return key == "controller-revision-hash"
    if kind == "DaemonSet":
        return key in ("controller-revision-hash", "pod-template-generation")
    if kind in ("Job", "CronJob"):
        if key in _UID_KEYS:
            return True
        if key in _JOB_NAME_KEYS:
            return value == name if kind == "Job" else value.startswith(name + "-")
        return key == "batch.kubernetes.io/job-completion-index" and value.isdigit()
    return False


# every label key _implicit can accept
_IMPLICIT_KEYS = frozenset({"pod-template-hash", "statefulset.kubernetes.io/pod-name",
                            "apps.kubernetes.io/pod-index", "controller-revision-hash",
                            "pod-template-generation", "batch.kubernetes.io/job-completion-index",
                            *_UID_KEYS, *_JOB_NAME_KEYS})


def _selects(selector: tuple[tuple[str, str], ...], labels: dict[str, Any], kind: str,
             name: str) -> int:
    """How many of the selector's pairs ``labels`` satisfies."""
    hits = 0
    for k, v in selector:
        got = labels.get(k)
        if got == v or (got is None and _implicit(k, v, kind, name)):
            hits += 1
    return hits


def cross_check(all_facts: list[Facts]) -> list[Finding]:
    """Findings that need the whole input: Services that select no pod template.

    A Service is only judged when the input has at least one pod template somewhere (a file
    of Services alone says nothing about where their pods come from)."""
    by_namespace: dict[str, list[Facts]] = {}
    services: list[Facts] = []
    for f in all_facts:
        if not isinstance(f, Facts):
            continue
        if f.selector:
            services.append(f)
        elif f.templates:
            by_namespace.setdefault(f.namespace, []).append(f)
    if not services or not by_namespace:
        return []
    total = sum(len(v) for v in by_namespace.values())
    rule = RULES["k8s/service-selector-no-match"]
    # per namespace, the pod templates in input order and, for each label pair, the positions
    # of the templates carrying it: a template that carries none of a Service's pairs counts
    # neither as a match nor as the closest one, so only the others are looked at
    entries: dict[str, list[tuple[Facts, dict[str, Any]]]] = {}
    index: dict[str, dict[tuple[str, str], list[int]]] = {}
    for namespace, workloads in by_namespace.items():
        listed = entries[namespace] = [(w, labels) for w in workloads for labels in w.templates]
        pairs = index[namespace] = {}
        for i, (_, labels) in enumerate(listed):
            for k, v in labels.items():
                if type(v) is str:
                    pairs.setdefault((k, v), []).append(i)
    out: list[Finding] = []
    for svc in services:
        want = len(svc.selector)
        best: tuple[int, Facts, dict[str, Any]] | None = None
        matched = False
        listed = entries.get(svc.namespace, [])
        if _IMPLICIT_KEYS.isdisjoint(k for k, _ in svc.selector):
            pairs = index.get(svc.namespace, {})
            candidates: Iterable[int] = sorted({i for pair in svc.selector
                                                for i in pairs.get(pair, ())})
        else:  # a label the controllers add: any template may carry it implicitly
            candidates = range(len(listed))
        for i in candidates:
            w, labels = listed[i]
            hits = _selects(svc.selector, labels, w.kind, w.name)
            if hits == want:
                matched = True
                break
            if hits and (best is None or hits > best[0]):
                best = (hits, w, labels)
        if matched:
            continue
        shown = ", ".join(f"{k}={v}" for k, v in svc.selector)
        here = len(by_namespace.get(svc.namespace, ()))
        message = (f"Service selector {shown} matches no pod template in namespace "
                   f"{svc.namespace!r} ({here} there, {total} in the input)")
        if best is not None:
            _, w, labels = best
            missing = [f"{k}={v}" + (f" (has {labels[k]})" if k in labels else " (missing)")
                       for k, v in svc.selector
                       if labels.get(k) != v and not _implicit(k, v, w.kind, w.name)]
            message += f"; closest is {w.kind} {w.name!r}, which lacks {', '.join(missing)}"
        line, column = svc.selector_position()
        out.append(Finding(
            rule_id=rule.id, message=message, severity=rule.severity, source="schema",
            resource=svc.resource, file=svc.file, line=line, column=column,
            document_index=svc.document_index, path="/spec/selector", remediation=rule.help,
            help_uri=rule.help_uri, title=rule.title))
    return out
