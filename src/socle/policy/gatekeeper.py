"""Gatekeeper ConstraintTemplates and Constraints, offline (what ``gator test`` does).

* A **template** (``templates.gatekeeper.sh`` v1, v1beta1, v1alpha1) names a constraint kind
  (``spec.crd.spec.names.kind``), a schema for its parameters
  (``spec.crd.spec.validation.openAPIV3Schema``) and code for the one target
  ``admission.k8s.gatekeeper.sh``: Rego in ``targets[0].rego`` (plus ``libs``, packages
  ``lib.*``), or in ``code: [{engine: Rego, source: {rego, libs, version}}]``, and/or CEL in
  ``code: [{engine: K8sNativeValidation, source: {...}}]``. Rego is v0 as in Gatekeeper, v1 when
  ``source.version: v1`` or every module imports ``rego.v1``. When both Rego and CEL are
  present, the CEL runs (as gator does with its default ``--enable-k8s-native-validation``);
  with CEL disabled, the Rego runs.
* A **constraint** (``constraints.gatekeeper.sh``) has the template's kind, ``spec.parameters``
  (validated against the schema, defaults applied), ``spec.enforcementAction`` (deny, warn,
  dryrun) and ``spec.match``.
* Every other object is reviewed by each matching constraint with the input
  ``{"review": <AdmissionRequest-like>, "parameters": ...}`` and the query
  ``data.<package>.violation``; all objects also form ``data.inventory``.

Each template's Rego is compiled once per client (one engine per template, so packages never
clash) and evaluated for every object.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from socle.core.document import Document
from socle.core.errors import InputError, SocleError, UsageError
from socle.core.finding import DocumentResult, Finding, Report, Resource, Rule, Severity, Status
from socle.policy import engine as _engine
from socle.policy.cel import CelProgram

TEMPLATE_GROUP = "templates.gatekeeper.sh"
CONSTRAINT_GROUP = "constraints.gatekeeper.sh"
TARGET = "admission.k8s.gatekeeper.sh"
ACTIONS: dict[str, Severity] = {"deny": Severity.HIGH, "warn": Severity.MEDIUM,
                                "dryrun": Severity.INFO}
_PACKAGE = re.compile(r"^[ \t]*package[ \t]+([A-Za-z_][\w.]*)", re.MULTILINE)
_VIOLATION = re.compile(r"^[ \t]*violation\b", re.MULTILINE)
_IMPORT_V1 = re.compile(r"^[ \t]*import[ \t]+rego\.v1\b", re.MULTILINE)


class ConstraintSchemaError(InputError):
    """A constraint whose parameters do not fit its template's schema (gator ``invalid``)."""


class ReviewError(SocleError):
    """Evaluating a template failed for one object."""


# --- documents --------------------------------------------------------------------------------


def _group(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def is_template(obj: Any) -> bool:
    return (isinstance(obj, dict) and obj.get("kind") == "ConstraintTemplate"
            and _group(str(obj.get("apiVersion", ""))) == TEMPLATE_GROUP)


def is_constraint(obj: Any) -> bool:
    return isinstance(obj, dict) and _group(str(obj.get("apiVersion", ""))) == CONSTRAINT_GROUP


def is_admission_review(obj: Any) -> bool:
    return (isinstance(obj, dict) and obj.get("kind") == "AdmissionReview"
            and _group(str(obj.get("apiVersion", ""))) == "admission.k8s.io")


def read_documents(paths: Iterable[str]) -> Iterator[Document]:
    """Every document of every YAML/JSON file under ``paths``; unreadable input raises."""
    from socle.core.sources import discover
    from socle.formats import get as get_format
    from socle.formats import name_for_path

    for source in discover(paths):
        data = source.read() if source.is_stdin else _read(source.path)
        fmt = "yaml" if source.is_stdin else (name_for_path(source.path) or "yaml")
        for doc in get_format(fmt).parse(data, source.display):
            if doc.error is not None:
                raise doc.error
            if doc.obj is None:
                continue
            if not isinstance(doc.obj, dict):
                raise InputError("a document must be an object", doc.file, doc.line)
            yield doc


def _read(path: str) -> bytes:
    from socle.core.sources import Source

    try:
        return Source(path).read()
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror}", path) from None


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    m = obj.get("metadata")
    return m if isinstance(m, dict) else {}


def _dig(obj: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(k)
    return obj


# --- templates --------------------------------------------------------------------------------


@dataclass
class Template:
    name: str
    kind: str
    file: str
    line: int
    api_version: str
    rego: str | None = None
    libs: list[str] = field(default_factory=list)
    rego_version: str = "v0"
    package: str = ""
    cel: CelProgram | None = None
    schema: dict[str, Any] | None = None
    description: str = ""
    _validator: Any = field(default=None, repr=False)

    @property
    def rule(self) -> str:
        return f"{self.package}.violation"

    def engine(self, enable_cel: bool = True) -> str:
        """The code that runs: CEL when present and enabled (as gator), else Rego."""
        if self.cel is not None and (enable_cel or self.rego is None):
            return "K8sNativeValidation"
        return "Rego"

    def validate_parameters(self, params: Any) -> list[str]:
        """Problems with ``params`` against the template's schema (empty when they fit)."""
        if self.schema is None:
            return []
        if self._validator is None:
            from socle.schema.registry import compile_schema

            # (formats and patterns as the Go side checks them: socle.schema.formats)
            try:
                self._validator = compile_schema(openapi_to_jsonschema(self.schema),
                                           f"template {self.name}")
            except SocleError as err:
                raise InputError(f"template {self.name}: invalid openAPIV3Schema: "
                                 f"{err.message}", self.file, self.line) from None
        out = []
        for e in self._validator.iter_errors(params):
            where = "/".join(str(p) for p in e.instance_path)
            out.append(f"spec.parameters{'.' + where.replace('/', '.') if where else ''}: "
                       f"{e.message}")
        return out


def parse_template(doc: Document) -> Template:
    obj = doc.obj

    def bad(msg: str) -> InputError:
        return InputError(f"ConstraintTemplate {_meta(obj).get('name', '')!s}: {msg}".replace(
            "ConstraintTemplate : ", "ConstraintTemplate: "), doc.file, doc.line)

    name = _meta(obj).get("name")
    if not isinstance(name, str) or not name:
        raise bad("metadata.name is required")
    kind = _dig(obj, "spec", "crd", "spec", "names", "kind")
    if not isinstance(kind, str) or not kind:
        raise bad("spec.crd.spec.names.kind is required")
    if name != kind.lower():
        raise bad(f"metadata.name must be the lowercase of the kind {kind!r} ({kind.lower()!r})")
    targets = _dig(obj, "spec", "targets")
    if not isinstance(targets, list) or len(targets) != 1 or not isinstance(targets[0], dict):
        raise bad("spec.targets must have exactly one target")
    target = targets[0]
    if target.get("target") != TARGET:
        raise bad(f"unknown target {target.get('target')!r} (only {TARGET})")
    t = Template(name=name, kind=kind, file=doc.file, line=doc.line,
                 api_version=str(obj.get("apiVersion")))
    desc = _dig(obj, "metadata", "annotations", "description")
    t.description = desc.strip() if isinstance(desc, str) else ""
    schema = _dig(obj, "spec", "crd", "spec", "validation", "openAPIV3Schema")
    if schema is not None and not isinstance(schema, dict):
        raise bad("openAPIV3Schema must be an object")
    t.schema = schema

    rego: str | None = None
    libs: list[Any] = []
    version = ""
    cel_source: dict[str, Any] | None = None
    code = target.get("code")
    if code is not None and not isinstance(code, list):
        raise bad("targets[0].code must be a list")
    for i, entry in enumerate(code or []):
        if not isinstance(entry, dict):
            raise bad(f"targets[0].code[{i}] must be an object")
        source = entry.get("source")
        if not isinstance(source, dict):
            raise bad(f"targets[0].code[{i}].source must be an object")
        if entry.get("engine") == "Rego":
            if not isinstance(source.get("rego"), str):
                raise bad(f"targets[0].code[{i}].source.rego must be a string")
            rego = source["rego"]
            libs = source.get("libs") or []
            version = str(source.get("version") or "")
        elif entry.get("engine") == "K8sNativeValidation":
            cel_source = source
    if rego is None and isinstance(target.get("rego"), str) and target["rego"].strip():
        rego = target["rego"]
        libs = target.get("libs") or []
    if not isinstance(libs, list) or not all(isinstance(x, str) for x in libs):
        raise bad("libs must be a list of Rego modules")
    if rego is None and cel_source is None:
        raise bad("no Rego or K8sNativeValidation code for target " + TARGET)
    if rego is not None:
        m = _PACKAGE.search(rego)
        if not m:
            raise bad("the Rego has no package")
        t.package = m.group(1)
        if not _VIOLATION.search(rego):
            raise bad("invalid rego: missing required rule violation")
        for i, lib in enumerate(libs):
            lm = _PACKAGE.search(lib)
            if not lm or not (lm.group(1) == "lib" or lm.group(1).startswith("lib.")):
                raise bad(f"libs[{i}]: a library's package must start with 'lib.'")
        if version not in ("", "v0", "v1"):
            raise bad(f"unknown Rego version {version!r} (v0 or v1)")
        modules = [rego, *libs]
        if version == "v1" or all(_IMPORT_V1.search(m) for m in modules):
            t.rego_version = "v1"
        t.rego = rego
        t.libs = list(libs)
    if cel_source is not None:
        t.cel = CelProgram(cel_source, doc.file, doc.line)
    return t


def openapi_to_jsonschema(schema: Any) -> Any:
    """An OpenAPI v3 (Kubernetes structural) schema as JSON Schema draft 4. An object with
    ``properties`` refuses others unless ``x-kubernetes-preserve-unknown-fields`` (gator:
    "unknown fields", where the API server would prune them)."""
    if isinstance(schema, list):
        return [openapi_to_jsonschema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for k, v in schema.items():
        if k.startswith("x-kubernetes-") or k in ("nullable", "example", "externalDocs",
                                                  "default"):
            continue
        if k in ("properties", "patternProperties", "definitions"):
            out[k] = {pk: openapi_to_jsonschema(pv) for pk, pv in v.items()} \
                if isinstance(v, dict) else v
        elif k in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"):
            out[k] = openapi_to_jsonschema(v)
        else:
            out[k] = v
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if ("properties" in out and "additionalProperties" not in out
            and schema.get("x-kubernetes-preserve-unknown-fields") is not True):
        out["additionalProperties"] = False
    return out


def apply_defaults(schema: Any, value: Any) -> Any:
    """Kubernetes structural defaulting: fill missing properties that have a ``default``."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        props = schema.get("properties")
        if isinstance(props, dict):
            for k, sub in props.items():
                if k not in value and isinstance(sub, dict) and "default" in sub:
                    value[k] = copy.deepcopy(sub["default"])
                if k in value:
                    value[k] = apply_defaults(sub, value[k])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for k in value:
                if not (isinstance(props, dict) and k in props):
                    value[k] = apply_defaults(extra, value[k])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [apply_defaults(schema["items"], v) for v in value]
    return value


# --- constraints ------------------------------------------------------------------------------


@dataclass
class Constraint:
    kind: str
    name: str
    file: str
    line: int
    obj: dict[str, Any]
    parameters: Any
    action: str
    match: dict[str, Any]

    @property
    def rule_id(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def severity(self) -> Severity:
        return ACTIONS[self.action]


def _scoped_action(spec: dict[str, Any], bad: Any) -> str:
    """The strongest action of ``scopedEnforcementActions`` (enforcement points not told apart)."""
    found = []
    for entry in spec.get("scopedEnforcementActions") or []:
        action = str(entry.get("action", "")).lower() if isinstance(entry, dict) else ""
        if action not in ACTIONS:
            raise bad(f"unknown scoped enforcement action {action!r}")
        found.append(action)
    if not found:
        raise bad("enforcementAction scoped needs scopedEnforcementActions")
    return max(found, key=lambda a: ACTIONS[a])


def parse_constraint(doc: Document, template: Template | None) -> Constraint:
    obj = doc.obj
    kind = str(obj.get("kind", ""))
    name = _meta(obj).get("name")

    def bad(msg: str) -> InputError:
        return InputError(f"{kind} {name or ''}: {msg}", doc.file, doc.line)

    if not isinstance(name, str) or not name:
        raise bad("metadata.name is required")
    if template is None:
        raise bad(f"no ConstraintTemplate defines the kind {kind!r}")
    spec = obj.get("spec") if obj.get("spec") is not None else {}
    if not isinstance(spec, dict):
        raise bad("spec must be an object")
    action = spec.get("enforcementAction") or "deny"
    action = str(action).lower()
    if action == "scoped":
        action = _scoped_action(spec, bad)
    elif action not in ACTIONS:
        raise bad(f"unknown enforcementAction {action!r} (deny, warn, dryrun or scoped)")
    match = spec.get("match") if spec.get("match") is not None else {}
    if not isinstance(match, dict):
        raise bad("spec.match must be an object")
    _check_match(match, bad)
    params = copy.deepcopy(spec.get("parameters"))
    if params is not None and template.schema is not None:
        problems = template.validate_parameters(params)
        if problems:
            raise ConstraintSchemaError(f"{kind} {name}: {problems[0]}", doc.file, doc.line)
        params = apply_defaults(template.schema, params)
    return Constraint(kind=kind, name=name, file=doc.file, line=doc.line, obj=obj,
                      parameters=params, action=action, match=match)


def _check_match(match: dict[str, Any], bad: Any) -> None:
    for key in ("kinds", "namespaces", "excludedNamespaces"):
        if match.get(key) is not None and not isinstance(match[key], list):
            raise bad(f"spec.match.{key} must be a list")
    for sel in ("labelSelector", "namespaceSelector"):
        value = match.get(sel)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise bad(f"spec.match.{sel} must be an object")
        for i, expr in enumerate(value.get("matchExpressions") or []):
            op = expr.get("operator") if isinstance(expr, dict) else None
            if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
                raise bad(f"spec.match.{sel}.matchExpressions[{i}]: unknown operator {op!r}")
            if op in ("In", "NotIn") and not expr.get("values"):
                raise bad(f"spec.match.{sel}.matchExpressions[{i}]: {op} needs values")
            if op in ("Exists", "DoesNotExist") and expr.get("values"):
                raise bad(f"spec.match.{sel}.matchExpressions[{i}]: {op} takes no values")


# --- match ------------------------------------------------------------------------------------


class MatchError(SocleError):
    """A match that needs what was not given (the Namespace of a namespaceSelector)."""


def wildcard(pattern: str, text: str) -> bool:
    """Gatekeeper's name/namespace glob: ``*`` as a prefix, a suffix, or both."""
    if pattern == "*":
        return True
    if len(pattern) > 1 and pattern.startswith("*") and pattern.endswith("*"):
        return pattern[1:-1] in text
    if pattern.startswith("*"):
        return text.endswith(pattern[1:])
    if pattern.endswith("*"):
        return text.startswith(pattern[:-1])
    return pattern == text


def selector_matches(selector: dict[str, Any], labels: dict[str, Any]) -> bool:
    """A Kubernetes LabelSelector (matchLabels and matchExpressions, ANDed)."""
    labels = labels if isinstance(labels, dict) else {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if k not in labels or str(labels[k]) != str(v):
            return False
    for expr in selector.get("matchExpressions") or []:
        key = expr.get("key")
        op = expr.get("operator")
        values = [str(v) for v in expr.get("values") or []]
        has = key in labels
        if op == "In" and not (has and str(labels[key]) in values):
            return False
        if op == "NotIn" and has and str(labels[key]) in values:
            return False
        if op == "Exists" and not has:
            return False
        if op == "DoesNotExist" and has:
            return False
    return True


def _is_namespace(obj: dict[str, Any]) -> bool:
    return obj.get("kind") == "Namespace" and _group(str(obj.get("apiVersion", ""))) == ""


def matches(match: dict[str, Any], obj: dict[str, Any],
            namespaces: dict[str, dict[str, Any]]) -> bool:
    """Whether a constraint's ``spec.match`` selects ``obj`` (as Gatekeeper's matchers do)."""
    meta = _meta(obj)
    api_version = str(obj.get("apiVersion", ""))
    group, kind = _group(api_version), str(obj.get("kind", ""))
    kinds = match.get("kinds") or []
    if kinds and not any(
        (not k.get("kinds") or "*" in k["kinds"] or kind in k["kinds"])
        and (not k.get("apiGroups") or "*" in k["apiGroups"] or group in k["apiGroups"])
        for k in kinds if isinstance(k, dict)
    ):
        return False
    obj_ns = str(meta.get("namespace") or "")
    is_ns = _is_namespace(obj)
    scope = match.get("scope")
    if scope == "Cluster" and not (is_ns or not obj_ns):
        return False
    if scope == "Namespaced" and (is_ns or not obj_ns):
        return False
    ns_name = str(meta.get("name") or "") if is_ns else obj_ns
    if match.get("namespaces") and (is_ns or obj_ns) and not any(
            wildcard(str(p), ns_name) for p in match["namespaces"]):
        return False
    if match.get("excludedNamespaces") and (is_ns or obj_ns) and any(
            wildcard(str(p), ns_name) for p in match["excludedNamespaces"]):
        return False
    if match.get("labelSelector") is not None and not selector_matches(
            match["labelSelector"], meta.get("labels") or {}):
        return False
    ns_sel = match.get("namespaceSelector")
    if ns_sel is not None and (is_ns or obj_ns):
        if is_ns:
            ns_labels = meta.get("labels") or {}
        else:
            ns_obj = namespaces.get(obj_ns)
            if ns_obj is None:
                raise MatchError(f"namespaceSelector needs the Namespace {obj_ns!r}: give it "
                                 "with the other files (or in the case's inventory)")
            ns_labels = _meta(ns_obj).get("labels") or {}
        if not selector_matches(ns_sel, ns_labels):
            return False
    name = match.get("name")
    return not (name and not wildcard(str(name), str(meta.get("name") or "")))


# --- envelope and inventory -------------------------------------------------------------------


def make_review(obj: dict[str, Any], namespace: dict[str, Any] | None = None,
                operation: str = "CREATE") -> dict[str, Any]:
    """The AdmissionRequest-like ``input.review`` Gatekeeper builds for an object."""
    api_version = str(obj.get("apiVersion", ""))
    group, _, version = api_version.rpartition("/")
    meta = _meta(obj)
    review: dict[str, Any] = {
        "uid": "",
        "kind": {"group": group, "version": version, "kind": str(obj.get("kind", ""))},
        "resource": {"group": group, "version": version, "resource": ""},
        "name": str(meta.get("name") or ""),
        "namespace": str(meta.get("namespace") or ""),
        "operation": operation,
        "userInfo": {},
        "object": obj,
        "oldObject": None,
        "dryRun": False,
        "options": None,
    }
    if namespace is not None:
        review["_unstable"] = {"namespace": namespace}
    return review


def review_from_admission(ar: dict[str, Any], file: str = "", line: int = 0) -> dict[str, Any]:
    """``input.review`` from an AdmissionReview document (its ``request``)."""
    req = ar.get("request")
    if not isinstance(req, dict):
        raise InputError("the AdmissionReview has no request", file, line)
    review = copy.deepcopy(req)
    if review.get("object") is None and review.get("oldObject") is None:
        raise InputError('the AdmissionRequest has no "object" or "oldObject" to review',
                         file, line)
    if review.get("operation") == "DELETE" and review.get("object") is None:
        review["object"] = review["oldObject"]
    review.setdefault("oldObject", None)
    review.setdefault("userInfo", {})
    return review


def build_inventory(objs: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """``data.inventory``: ``cluster[groupVersion][kind][name]`` and
    ``namespace[ns][groupVersion][kind][name]``."""
    cluster: dict[str, Any] = {}
    namespaced: dict[str, Any] = {}
    for o in objs:
        meta = _meta(o)
        gv, kind, name = str(o.get("apiVersion", "")), str(o.get("kind", "")), meta.get("name")
        if not kind or not isinstance(name, str):
            continue
        ns = meta.get("namespace")
        if ns:
            namespaced.setdefault(str(ns), {}).setdefault(gv, {}).setdefault(kind, {})[name] = o
        else:
            cluster.setdefault(gv, {}).setdefault(kind, {})[name] = o
    return {"cluster": cluster, "namespace": namespaced}


# --- evaluation -------------------------------------------------------------------------------


@dataclass(slots=True)
class Violation:
    constraint: Constraint
    message: str
    details: Any = None

    @property
    def action(self) -> str:
        return self.constraint.action


_DEFAULT_NAMESPACE: dict[str, Any] = {"apiVersion": "v1", "kind": "Namespace",
                                      "metadata": {"name": "default"}}


class Client:
    """Templates, constraints and inventory; reviews objects (gator's client, offline)."""

    def __init__(self, engine: str = _engine.DEFAULT_ENGINE, timeout: float | None = None,
                 enable_cel: bool = True, implicit_default_namespace: bool = False,
                 cel_failure_policy: str = "Fail") -> None:
        self.engine_name = engine
        self.timeout = timeout
        self.enable_cel = enable_cel
        # for CEL sources that name no failurePolicy (gator's
        # --default-k8s-native-validation-failure-policy)
        self.cel_failure_policy = cel_failure_policy
        self.templates: dict[str, Template] = {}
        self.constraints: list[Constraint] = []
        self.inventory_objects: list[dict[str, Any]] = []
        self._engines: dict[str, Any] = {}
        self._inventory: dict[str, Any] | None = None
        self._namespaces: dict[str, dict[str, Any]] | None = None
        # gator test matches an object of namespace "default" as if that Namespace were
        # given, unlabelled, when it is not (any other missing Namespace is an error)
        self.implicit_default_namespace = implicit_default_namespace

    def add_template(self, template: Template) -> None:
        if template.rego is None and not self.enable_cel:
            raise InputError(f"template {template.name} has only K8sNativeValidation (CEL) code, "
                             "and CEL is disabled (--enable-k8s-native-validation=false)",
                             template.file, template.line)
        self.templates[template.kind] = template
        self._engines.pop(template.kind, None)

    def add_constraint_doc(self, doc: Document) -> Constraint:
        c = parse_constraint(doc, self.templates.get(str(doc.obj.get("kind", ""))))
        self.constraints = [x for x in self.constraints
                            if (x.kind, x.name) != (c.kind, c.name)] + [c]
        self.constraints.sort(key=lambda x: (x.kind, x.name))
        return c

    def add_data(self, objs: Iterable[dict[str, Any]]) -> None:
        self.inventory_objects.extend(objs)
        self._engines.clear()
        self._inventory = None
        self._namespaces = None

    @property
    def namespaces(self) -> dict[str, dict[str, Any]]:
        if self._namespaces is None:
            self._namespaces = {str(_meta(o).get("name")): o for o in self.inventory_objects
                                if _is_namespace(o) and _meta(o).get("name")}
        return self._namespaces

    def _compiled(self, t: Template) -> Any:
        eng = self._engines.get(t.kind)
        if eng is not None:
            return eng
        if self._inventory is None:
            self._inventory = build_inventory(self.inventory_objects)
        try:
            # (Gatekeeper rewrites negations in v0 templates too)
            eng = _engine.create_engine(self.engine_name, rego_version=t.rego_version,
                                        timeout=self.timeout, hoist_negations=True)
            eng.add_policy(f"{t.file}[{t.name}]", t.rego or "")
            for i, lib in enumerate(t.libs):
                eng.add_policy(f"{t.file}[{t.name}.libs[{i}]]", lib)
            eng.add_data({"inventory": self._inventory})
        except SocleError as err:
            raise InputError(f"template {t.name}: {err}", t.file, t.line) from None
        self._engines[t.kind] = eng
        return eng

    def compile_all(self) -> None:
        """Compile every Rego template now (so a bad template fails before any review)."""
        for t in self.templates.values():
            if t.engine(self.enable_cel) == "Rego":
                self._compiled(t)

    def review(self, obj: dict[str, Any], review: dict[str, Any] | None = None,
               match_errors: list[tuple[Constraint, MatchError]] | None = None
               ) -> list[Violation]:
        """Violations of every matching constraint for ``obj`` (or a prepared ``review``).
        A constraint whose match cannot be decided (a namespaceSelector without the object's
        Namespace) raises MatchError, or, given ``match_errors``, is added there and the
        other constraints go on (gator reports it for that constraint alone)."""
        if review is None:
            ns_name = _meta(obj).get("namespace")
            review = make_review(obj, self.namespaces.get(str(ns_name)) if ns_name else None)
        target = review.get("object") if review.get("object") is not None \
            else review.get("oldObject")
        if not isinstance(target, dict):
            return []
        out: list[Violation] = []
        namespaces = self.namespaces
        if self.implicit_default_namespace and "default" not in namespaces:
            namespaces = {**namespaces, "default": _DEFAULT_NAMESPACE}
        for c in self.constraints:
            try:
                matched = matches(c.match, target, namespaces)
            except MatchError as err:
                if match_errors is None:
                    raise
                match_errors.append((c, err))
                continue
            if not matched:
                continue
            t = self.templates[c.kind]
            out.extend(self._evaluate(t, c, review))
        return out

    def _evaluate(self, t: Template, c: Constraint, review: dict[str, Any]) -> list[Violation]:
        if t.engine(self.enable_cel) == "K8sNativeValidation":
            assert t.cel is not None
            ns = _dig(review, "_unstable", "namespace")
            return [Violation(c, v.message) for v in t.cel.evaluate(
                review, c.obj, ns, self.cel_failure_policy)]
        eng = self._compiled(t)
        params = c.parameters if c.parameters is not None else {}
        try:
            # the violation set as a sorted JSON array from every engine (undefined: None);
            # a rule path, so that the compiled engine evaluates it (a failing builtin is
            # then undefined, as in Gatekeeper, instead of an error from regorus)
            result = eng.eval_rule(t.rule, {"review": review, "parameters": params})
        except SocleError as err:
            raise ReviewError(f"{c.rule_id}: {err}") from None
        if result is None:
            result = []
        out = []
        for item in result if isinstance(result, (list, set, tuple)) else [result]:
            if isinstance(item, dict):
                msg = item.get("msg")
                out.append(Violation(c, msg if isinstance(msg, str) else str(msg),
                                     item.get("details")))
            else:
                out.append(Violation(c, str(item)))
        out.sort(key=lambda v: v.message)
        return out


# --- gator test -------------------------------------------------------------------------------


@dataclass
class TestRun:
    report: Report
    reviewed: int = 0
    violations: list[tuple[Document, Violation]] = field(default_factory=list)


def load(paths: Sequence[str], client: Client) -> list[Document]:
    """Read templates, constraints and objects from ``paths`` into ``client``.

    Returns the documents to review: every document, templates and constraints included, as
    gator reviews them (a constraint matching every kind reports on the templates too).
    The others become ``data.inventory``.
    """
    docs = list(read_documents(paths))
    if not docs:
        # (gator's words: `helm template ... | gator test` after a failed render is no pass)
        raise UsageError("no input data identified: the input holds no document (empty "
                         "files, comments or an empty stream)")
    for d in docs:
        if is_template(d.obj):
            client.add_template(parse_template(d))
    for d in docs:
        if is_constraint(d.obj):
            client.add_constraint_doc(d)
    client.add_data(d.obj for d in docs if not is_template(d.obj) and not is_constraint(d.obj)
                    and not is_admission_review(d.obj))
    return docs


def _review_error(report: Report, d: Document, resource: Resource, message: str) -> None:
    """An object that could not be reviewed (with every constraint, or with one)."""
    report.errors += 1
    report.add(Finding(rule_id="gatekeeper/error", message=message, source="input",
                       resource=resource, file=d.file, line=d.line, document_index=d.index))


def run_test(paths: Sequence[str], engine: str = _engine.DEFAULT_ENGINE,
             timeout: float | None = None, deny_only: bool = False,
             enable_cel: bool = True, cel_failure_policy: str = "Fail") -> TestRun:
    """``gator test``: review every object with every matching constraint (with the cycle
    collector paused, young objects collected every few hundred objects: its full passes
    over the objects read and the report took ~20% of a large run)."""
    from socle.core import collector

    with collector.paused():
        return _run_test(paths, engine, timeout, deny_only, enable_cel, cel_failure_policy)


def _run_test(paths: Sequence[str], engine: str, timeout: float | None, deny_only: bool,
              enable_cel: bool, cel_failure_policy: str = "Fail") -> TestRun:
    from socle.core import collector

    client = Client(engine, timeout, enable_cel, implicit_default_namespace=True,
                    cel_failure_policy=cel_failure_policy)
    objects = load(paths, client)
    client.compile_all()
    report = Report(command="gatekeeper test")
    report.files = len({d.file for d in objects} | {c.file for c in client.constraints}
                       | {t.file for t in client.templates.values()})
    for c in client.constraints:
        t = client.templates[c.kind]
        report.rules[c.rule_id] = Rule(id=c.rule_id, title=f"{c.kind} {c.name}",
                                       help=t.description, severity=c.severity)
    run = TestRun(report)
    for d in collector.collecting(objects):
        review = None
        target = d.obj
        if is_admission_review(d.obj):
            review = review_from_admission(d.obj, d.file, d.line)
            target = review.get("object") or {}
        resource = Resource.of(target)
        match_errors: list[tuple[Constraint, MatchError]] = []
        try:
            found = client.review(target, review, match_errors)
        except (MatchError, ReviewError) as err:
            _review_error(report, d, resource, str(err))
            report.documents.append(DocumentResult(d.file, d.index, d.line, resource,
                                                   Status.ERROR, str(err)))
            continue
        for c, problem in match_errors:
            _review_error(report, d, resource, f"{c.rule_id}: {problem}")
        run.reviewed += 1
        if deny_only:
            found = [v for v in found if v.action == "deny"]
        for v in found:
            run.violations.append((d, v))
            report.add(Finding(rule_id=v.constraint.rule_id, message=v.message,
                               severity=v.constraint.severity, source="policy",
                               resource=resource, file=d.file, line=d.line,
                               document_index=d.index, title=v.constraint.kind))
        status = Status.INVALID if any(v.action == "deny" for v in found) else Status.VALID
        if match_errors:
            status = Status.ERROR
        report.documents.append(DocumentResult(d.file, d.index, d.line, resource, status,
                                               str(match_errors[0][1]) if match_errors else ""))
    return run
