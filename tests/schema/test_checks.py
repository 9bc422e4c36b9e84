"""socle validate's checks that JSON schema cannot express (socle.schema.checks)."""

from __future__ import annotations

import copy
import pickle
import textwrap
from typing import Any

import pytest

from socle.core.document import Document
from socle.core.finding import Finding, Severity
from socle.formats.yaml import iter_documents
from socle.schema import checks
from socle.schema.checks import RULES, Facts, check_document, cross_check, facts


def run(text: str, file: str = "manifests.yaml") -> list[Finding]:
    """Per-document checks on every document, then the cross-document check."""
    found: list[Finding] = []
    collected: list[Facts] = []
    for doc in iter_documents(textwrap.dedent(text), file):
        assert doc.error is None, doc.error
        found.extend(check_document(doc))
        fact = facts(doc)
        if fact is not None:
            collected.append(fact)
    found.extend(cross_check(collected))
    return found


def ids(found: list[Finding]) -> list[str]:
    return [f.rule_id for f in found]


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the nth line containing ``needle``."""
    hits = [i for i, line in enumerate(textwrap.dedent(text).splitlines(), 1) if needle in line]
    return hits[nth - 1]


# --- a clean, realistic set --------------------------------------------------------------------

CLEAN = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    kubernetes.io/metadata.name: shop
    pod-security.kubernetes.io/enforce: restricted
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: shop}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web.config
  namespace: shop
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: "{}"
    Example.COM/Owner: team-a
data: {LOG_LEVEL: info}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels:
    app.kubernetes.io/name: web
    app.kubernetes.io/version: "1.4.2"
    tier: ""
spec:
  replicas: 3
  selector:
    matchLabels:
      app.kubernetes.io/name: web
    matchExpressions:
      - {key: tier, operator: In, values: [frontend, edge]}
      - {key: canary, operator: DoesNotExist}
      - {key: track, operator: NotIn, values: [legacy]}
      - {key: app.kubernetes.io/name, operator: Exists}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: web
        tier: frontend
      annotations:
        prometheus.io/scrape: "true"
    spec:
      serviceAccountName: web
      initContainers:
        - name: migrate
          image: registry.example/web:1.4.2
          ports: [{containerPort: 8080}]
        - name: log-shipper
          image: registry.example/shipper:3
          restartPolicy: Always
          ports: [{name: shipper, containerPort: 24224}]
      containers:
        - name: web
          image: registry.example/web:1.4.2
          ports:
            - {name: http, containerPort: 8080}
            - {name: dns-udp, containerPort: 5353, protocol: UDP}
            - {name: dns-tcp, containerPort: 5353, protocol: TCP}
          env:
            - {name: LOG_LEVEL, value: info}
            - name: POD_NAME
              valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - name: proxy
          image: registry.example/proxy:2
          ports: [{name: https, containerPort: 8443, hostPort: 443}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app.kubernetes.io/name: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: postgres, image: postgres:16, ports: [{name: pg, containerPort: 5432}]}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec:
  clusterIP: None
  selector: {app: db}
---
apiVersion: v1
kind: Service
metadata: {name: db-0, namespace: shop}
spec:
  type: LoadBalancer
  selector: {statefulset.kubernetes.io/pod-name: db-0}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-agent, namespace: kube-system}
spec:
  selector: {matchLabels: {name: node-agent}}
  template:
    metadata: {labels: {name: node-agent}}
    spec:
      containers: [{name: agent, image: agent:1, ports: [{containerPort: 9100, hostPort: 9100}]}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly-report, namespace: shop}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {job: nightly-report}}
        spec:
          restartPolicy: OnFailure
          containers: [{name: report, image: report:1}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: backfill, namespace: shop}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: backfill, image: backfill:1}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: manual, namespace: shop}
spec:
  manualSelector: true
  selector: {matchLabels: {run: manual}}
  template:
    metadata: {labels: {run: manual}}
    spec:
      restartPolicy: Never
      containers: [{name: manual, image: manual:1}]
---
apiVersion: v1
kind: ReplicationController
metadata: {name: legacy, namespace: shop}
spec:
  selector: {app: legacy}
  template:
    metadata: {labels: {app: legacy}}
    spec:
      containers: [{name: legacy, image: legacy:1}]
---
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: shop, labels: {app: debug}}
spec:
  containers: [{name: shell, image: busybox}]
  ephemeralContainers: [{name: debugger, image: busybox}]
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: checkout, namespace: shop}
spec:
  selector: {matchLabels: {app: checkout}}
  template:
    metadata: {labels: {app: checkout}}
    spec:
      containers: [{name: checkout, image: checkout:1}]
---
apiVersion: v1
kind: Service
metadata: {name: checkout, namespace: shop}
spec:
  selector: {app: checkout}
---
apiVersion: v1
kind: Service
metadata: {name: legacy-db, namespace: shop}
spec:
  type: ExternalName
  externalName: db.example.internal
  selector: {app: nothing-here}
---
apiVersion: v1
kind: Service
metadata: {name: external, namespace: shop}
spec:
  ports: [{port: 443}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:controller:web-reader"}
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: "web:readers", namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: []
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app.kubernetes.io/name: web}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: web.shop.example.com, namespace: shop}
spec: {secretName: web-tls}
---
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
metadata: {name: Not_An_Object}
resources: [web.yaml]
"""


def test_clean_realistic_manifests_have_no_findings() -> None:
    assert run(CLEAN) == []


def test_every_rule_has_a_title_help_and_link() -> None:
    assert len(RULES) >= 10
    for rule_id, rule in RULES.items():
        assert rule.id == rule_id and rule_id.startswith("k8s/")
        assert rule.title and rule.help and rule.help_uri.startswith("https://")
        assert rule.severity in (Severity.HIGH, Severity.MEDIUM, Severity.LOW)


# --- containers ---------------------------------------------------------------------------------

POD_DUP_NAMES = """\
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: app
      image: app
    - name: app
      image: app
  initContainers:
    - name: setup
      image: setup
    - name: app
      image: app
  ephemeralContainers:
    - name: setup
      image: debug
"""


def test_duplicate_container_names_across_all_container_lists() -> None:
    found = run(POD_DUP_NAMES)
    assert ids(found) == ["k8s/duplicate-container-name"] * 3
    first, second, third = found
    assert first.line == 8 and first.path == "/spec/containers/1/name"
    assert first.message == "container name 'app' is already used by containers[0]"
    assert first.severity is Severity.HIGH and first.source == "schema"
    assert first.resource.kind == "Pod" and first.resource.name == "p"
    assert first.file == "manifests.yaml" and first.column == 7
    assert second.line == 13 and second.path == "/spec/initContainers/1/name"
    assert third.line == 16 and "initContainers[0]" in third.message
    assert third.path == "/spec/ephemeralContainers/0/name"
    assert third.remediation and third.title == RULES[third.rule_id].title


def test_duplicate_container_names_in_a_cronjob_template() -> None:
    text = """\
    apiVersion: batch/v1
    kind: CronJob
    metadata: {name: c}
    spec:
      schedule: "* * * * *"
      jobTemplate:
        spec:
          template:
            spec:
              containers:
                - {name: a, image: x}
                - {name: a, image: x}
    """
    (f,) = run(text)
    assert f.rule_id == "k8s/duplicate-container-name"
    assert f.path == "/spec/jobTemplate/spec/template/spec/containers/1/name"
    assert f.line == 12


def test_invalid_container_name() -> None:
    text = """\
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: d}
    spec:
      selector: {matchLabels: {a: b}}
      template:
        metadata: {labels: {a: b}}
        spec:
          containers:
            - {name: My_App, image: x}
    """
    (f,) = run(text)
    assert (f.rule_id, f.line, f.path) == (
        "k8s/invalid-name", 10, "/spec/template/spec/containers/0/name")
    assert "container name 'My_App' must be a DNS label" in f.message


PORTS = """\
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers:
    - name: warmup
      image: x
      ports: [{containerPort: 8080}]
    - name: sidecar
      image: x
      restartPolicy: Always
      ports: [{containerPort: 9000, name: admin}]
  containers:
    - name: a
      image: x
      ports:
        - {containerPort: 8080, name: http}
        - {containerPort: 8080, protocol: TCP}
        - {containerPort: 8080, protocol: UDP}
        - {containerPort: 80, hostPort: 80}
    - name: b
      image: x
      ports:
        - {containerPort: 9000}
        - {containerPort: 81, hostPort: 80}
"""


def test_duplicate_container_ports() -> None:
    found = run(PORTS)
    assert ids(found) == ["k8s/duplicate-container-port"] * 3
    same, host, sidecar = found
    # same containerPort and protocol (TCP is the default) in one container
    assert same.line == line_of(PORTS, "{containerPort: 8080, protocol: TCP}")
    assert same.path == "/spec/containers/0/ports/1"
    assert same.message == "port 8080/TCP is already declared by containers[0].ports[0]"
    assert same.severity is Severity.MEDIUM
    # a restartable init container (sidecar) runs beside the containers; a plain one does not
    assert sidecar.path == "/spec/initContainers/1/ports/0"
    assert sidecar.message == "port 9000/TCP is already declared by containers[1].ports[0]"
    # the same hostPort twice is rejected by the API server
    assert host.path == "/spec/containers/1/ports/1" and host.severity is Severity.HIGH
    assert host.message == "hostPort 80/TCP is already used by containers[0].ports[3]"


def test_port_names() -> None:
    text = """\
    apiVersion: v1
    kind: Pod
    metadata: {name: p}
    spec:
      containers:
        - name: a
          image: x
          ports:
            - {containerPort: 1, name: http}
            - {containerPort: 2, name: http}
            - {containerPort: 3, name: metrics-endpoint-x}
            - {containerPort: 4, name: "8080"}
            - {containerPort: 5, name: -web}
        - name: b
          image: x
          ports:
            - {containerPort: 6, name: http}
    """
    found = run(text)
    assert [(f.rule_id, f.line, f.severity) for f in found] == [
        ("k8s/duplicate-port-name", 10, Severity.HIGH),
        ("k8s/invalid-port-name", 11, Severity.HIGH),
        ("k8s/invalid-port-name", 12, Severity.HIGH),
        ("k8s/invalid-port-name", 13, Severity.HIGH),
        ("k8s/duplicate-port-name", 17, Severity.MEDIUM),
    ]
    assert found[0].message.endswith("containers[0].ports[0] of the same container")
    assert "at most 15 characters (has 18)" in found[1].message
    assert "at least one letter" in found[2].message
    assert "ambiguous" in found[4].message
    assert found[4].path == "/spec/containers/1/ports/0/name"


def test_duplicate_env_names() -> None:
    text = """\
    apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: s}
    spec:
      selector: {matchLabels: {a: b}}
      template:
        metadata: {labels: {a: b}}
        spec:
          containers:
            - name: a
              image: x
              env:
                - {name: MODE, value: fast}
                - {name: OTHER, value: x}
                - {name: MODE, value: safe}
                - {value: no-name}
                - {value: no-name-either}
            - name: b
              image: x
              env: [{name: MODE, value: x}]
    """
    (f,) = run(text)
    assert f.rule_id == "k8s/duplicate-env-name" and f.severity is Severity.MEDIUM
    assert f.line == 15 and f.path == "/spec/template/spec/containers/0/env/2/name"
    assert f.message == ("environment variable 'MODE' is already defined at env[0]; the "
                         "container sees only the last value")


# --- workload selectors --------------------------------------------------------------------------


def deployment(selector: str, labels: str, kind: str = "Deployment",
               api: str = "apps/v1") -> str:
    return f"""\
apiVersion: {api}
kind: {kind}
metadata: {{name: w}}
spec:
  selector: {selector}
  template:
    metadata:
      labels: {labels}
    spec:
      containers: [{{name: a, image: x}}]
"""


@pytest.mark.parametrize("selector,labels", [
    ("{matchLabels: {app: web}}", "{app: web, extra: x}"),
    ("{matchExpressions: [{key: app, operator: In, values: [web, api]}]}", "{app: api}"),
    ("{matchExpressions: [{key: app, operator: NotIn, values: [db]}]}", "{app: web}"),
    ("{matchExpressions: [{key: app, operator: NotIn, values: [db]}]}", "{other: x}"),
    ("{matchExpressions: [{key: app, operator: Exists}]}", "{app: ''}"),
    ("{matchExpressions: [{key: canary, operator: DoesNotExist}]}", "{app: web}"),
    ("{matchLabels: {app: web}, matchExpressions: [{key: v, operator: In, values: ['1']}]}",
     "{app: web, v: '1'}"),
])
@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"])
def test_selector_matching_template(selector: str, labels: str, kind: str) -> None:
    assert run(deployment(selector, labels, kind)) == []


@pytest.mark.parametrize("selector,labels,message", [
    ("{matchLabels: {app: web}}", "{app: webapp}",
     "matchLabels app=web but the template has app=webapp"),
    ("{matchLabels: {app: web, tier: fe}}", "{app: web}",
     "matchLabels tier=fe but the template has no such label"),
    ("{matchExpressions: [{key: app, operator: In, values: [web]}]}", "{app: db}",
     "app In ['web'] but the template has app=db"),
    ("{matchExpressions: [{key: app, operator: NotIn, values: [web]}]}", "{app: web}",
     "app NotIn ['web'] but the template has app=web"),
    ("{matchExpressions: [{key: app, operator: Exists}]}", "{other: x}",
     "app Exists but the template has no such label"),
    ("{matchExpressions: [{key: app, operator: DoesNotExist}]}", "{app: web}",
     "app DoesNotExist but the template has app=web"),
])
def test_selector_not_matching_template(selector: str, labels: str, message: str) -> None:
    text = deployment(selector, labels)
    (f,) = run(text)
    assert f.rule_id == "k8s/selector-mismatch" and f.severity is Severity.HIGH
    assert f.message == f"spec.selector does not match the pod template's labels: {message}"
    assert f.path == "/spec/template/metadata/labels"
    assert f.line == 8


def test_selector_mismatch_without_template_labels_points_at_the_selector() -> None:
    text = """\
    apiVersion: apps/v1
    kind: DaemonSet
    metadata: {name: d}
    spec:
      selector:
        matchLabels: {app: d}
      template:
        spec:
          containers: [{name: a, image: x}]
    """
    (f,) = run(text)
    assert (f.rule_id, f.line, f.path) == ("k8s/selector-mismatch", 5, "/spec/selector")


@pytest.mark.parametrize("selector,message", [
    ("{}", "an empty selector is not allowed for a Deployment"),
    ("{matchLabels: {}, matchExpressions: []}", "an empty selector is not allowed"),
    ("{matchExpressions: [{key: app, operator: In}]}",
     "matchExpressions[0]: operator In needs at least one value"),
    ("{matchExpressions: [{key: app, operator: NotIn, values: []}]}",
     "matchExpressions[0]: operator NotIn needs at least one value"),
    ("{matchExpressions: [{key: app, operator: Exists, values: [x]}]}",
     "matchExpressions[0]: operator Exists takes no values"),
    ("{matchExpressions: [{key: app, operator: Equals, values: [x]}]}",
     "matchExpressions[0]: unknown operator 'Equals'"),
])
def test_invalid_selectors(selector: str, message: str) -> None:
    (f,) = run(deployment(selector, "{app: web}"))
    assert f.rule_id == "k8s/invalid-selector" and f.severity is Severity.HIGH
    assert f.message.startswith(message)
    assert f.line == 5


def test_replication_controller_selector() -> None:
    text = """\
    apiVersion: v1
    kind: ReplicationController
    metadata: {name: rc}
    spec:
      selector: {app: rc, tier: x}
      template:
        metadata: {labels: {app: rc}}
        spec:
          containers: [{name: a, image: x}]
    """
    (f,) = run(text)
    assert f.rule_id == "k8s/selector-mismatch" and f.line == 7
    assert "selector tier=x but the template has no such label" in f.message
    # no selector: it is defaulted from the template labels
    assert run(text.replace("selector: {app: rc, tier: x}", "replicas: 1")) == []


def test_job_selectors() -> None:
    manual = """\
    apiVersion: batch/v1
    kind: Job
    metadata: {name: j}
    spec:
      manualSelector: true
      selector: {matchLabels: {run: j}}
      template:
        metadata: {labels: {run: k}}
        spec:
          restartPolicy: Never
          containers: [{name: a, image: x}]
    """
    (f,) = run(manual)
    assert f.rule_id == "k8s/selector-mismatch" and f.line == 8
    generated = manual.replace("manualSelector: true", "parallelism: 1")
    (g,) = run(generated)
    assert g.rule_id == "k8s/invalid-selector" and g.line == 6
    assert "spec.manualSelector is not true" in g.message
    # a selector on the generated job-name label is what the server would make itself
    same = generated.replace("{run: j}", "{job-name: j}")
    assert run(same) == []


# --- names ---------------------------------------------------------------------------------------


def named(kind: str, name: str, api: str = "v1", extra: str = "") -> str:
    return f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: '{name}'\n{extra}"


@pytest.mark.parametrize("kind,api,name", [
    ("ConfigMap", "v1", "web.config-1"),
    ("Deployment", "apps/v1", "1st.web"),
    ("Service", "v1", "web-1"),
    ("Namespace", "v1", "1team"),
    ("StatefulSet", "apps/v1", "db-0x"),
    ("ClusterRole", "rbac.authorization.k8s.io/v1", "system:aggregate-to-edit"),
    ("Role", "rbac.authorization.k8s.io/v1", "Any Name.With:Spaces"),
    ("CertificateSigningRequest", "certificates.k8s.io/v1", "node-csr-AbC_12"),
    ("IPAddress", "networking.k8s.io/v1", "2001:db8::1"),
    ("Certificate", "cert-manager.io/v1", "www.example.com"),
    ("Secret", "v1", "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 61),
    ("CronJob", "batch/v1", "c" * 52),
    ("Job", "batch/v1", "j" * 63),
    ("Service", "serving.knative.dev/v1", "1st"),  # a custom resource: DNS subdomain
])
def test_valid_names(kind: str, api: str, name: str) -> None:
    assert run(named(kind, name, api)) == []


@pytest.mark.parametrize("kind,api,name,message", [
    ("ConfigMap", "v1", "Web", "must be a DNS subdomain"),
    ("ConfigMap", "v1", "web_config", "must be a DNS subdomain"),
    ("ConfigMap", "v1", "web.", "must be a DNS subdomain"),
    ("Secret", "v1", "a" * 254, "must be at most 253 characters (has 254)"),
    ("Service", "v1", "1web", "must be an RFC 1035 label"),
    ("Service", "v1", "web.internal", "must be an RFC 1035 label"),
    ("Service", "v1", "s" * 64, "must be at most 63 characters (has 64)"),
    ("Namespace", "v1", "team.a", "must be a DNS label"),
    ("StatefulSet", "apps/v1", "db.primary", "must be a DNS label"),
    ("ClusterRole", "rbac.authorization.k8s.io/v1", "a/b", "may not contain '/'"),
    ("RoleBinding", "rbac.authorization.k8s.io/v1", "..", "may not be '..'"),
    ("CronJob", "batch/v1", "c" * 53, "must be at most 52 characters (has 53)"),
    ("Job", "batch/v1", "j" * 64, "must be at most 63 characters (has 64)"),
    ("Widget", "example.com/v1", "Widget_1", "must be a DNS subdomain"),
])
def test_invalid_names(kind: str, api: str, name: str, message: str) -> None:
    (f,) = run(named(kind, name, api))
    assert f.rule_id == "k8s/invalid-name" and f.severity is Severity.HIGH
    assert f.line == 4 and f.column == 3 and f.path == "/metadata/name"
    assert f.message.startswith(f"{kind} name {name!r} {message}")


def test_generate_name_and_namespace() -> None:
    text = named("Pod", "", extra="  generateName: web-\n  namespace: Prod\n")
    (f,) = run(text)
    assert f.rule_id == "k8s/invalid-name" and f.path == "/metadata/namespace"
    assert f.line == 6 and f.message.startswith("namespace 'Prod' must be a DNS label")
    bad = named("Pod", "", extra="  generateName: Web-\n")
    (g,) = run(bad)
    assert g.path == "/metadata/generateName" and g.line == 5


# --- labels and annotations --------------------------------------------------------------------

LABELS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    ok.example.com/name: web
    a/b/c: x
    /name: x
    Example.com/name: x
    toolong-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX: x
    version: -1.0-
    empty: ""
    long: vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv
    port: 8080
  annotations:
    Example.COM/Owner: ok
    bad key: x
spec:
  selector:
    matchLabels: {app: web}
    matchExpressions: [{key: "tier!", operator: In, values: [a, "b c"]}]
  template:
    metadata:
      labels: {app: web, "tier!": a, "x/": y}
      annotations: {"a/b/c": x}
    spec:
      containers: [{name: a, image: x}]
"""


def test_label_and_annotation_keys_and_values() -> None:
    found = run(LABELS)
    toolong = line_of(LABELS, "toolong-")
    long_key = LABELS.splitlines()[toolong - 1].split(":")[0].strip()
    got = [(f.rule_id, f.line, f.path) for f in found]
    assert got == [
        ("k8s/invalid-label", 7, "/metadata/labels/a~1b~1c"),
        ("k8s/invalid-label", 8, "/metadata/labels/~1name"),
        ("k8s/invalid-label", 9, "/metadata/labels/Example.com~1name"),
        ("k8s/invalid-label", 10, "/metadata/labels/" + long_key),
        ("k8s/invalid-label", 11, "/metadata/labels/version"),
        ("k8s/invalid-label", 13, "/metadata/labels/long"),
        ("k8s/invalid-annotation", 17, "/metadata/annotations/bad key"),
        ("k8s/invalid-label", 21, "/spec/selector/matchExpressions/0/key"),
        ("k8s/invalid-label", 21, "/spec/selector/matchExpressions/0/values/1"),
        ("k8s/invalid-label", 24, "/spec/template/metadata/labels/tier!"),
        ("k8s/invalid-label", 24, "/spec/template/metadata/labels/x~1"),
        ("k8s/invalid-annotation", 25, "/spec/template/metadata/annotations/a~1b~1c"),
    ]
    messages = [f.message for f in found]
    assert messages[0] == "label key 'a/b/c' may contain at most one '/'"
    assert messages[1] == "label key '/name' has an empty prefix before '/'"
    assert messages[2].startswith("label key 'Example.com/name' prefix 'Example.com' must be")
    assert messages[3].endswith(f"name part must be at most 63 characters (has {len(long_key)})")
    assert messages[4].startswith("label value '-1.0-' of 'version' must be empty or consist")
    assert messages[5] == ("label value '" + "v" * 65 + "' of 'long' must be at most 63 "
                           "characters (has 65)")
    assert messages[10] == "label key 'x/' has an empty name part"
    assert all(f.severity is Severity.HIGH for f in found)


def test_service_selector_labels_are_checked() -> None:
    text = """\
    apiVersion: v1
    kind: Service
    metadata: {name: s}
    spec:
      selector: {"app name": web}
    """
    (f,) = run(text)
    assert f.rule_id == "k8s/invalid-label" and f.line == 5
    assert f.message.startswith("selector key 'app name' name part must consist")


def test_the_valid_cache_does_not_hide_repeated_problems() -> None:
    text = named("ConfigMap", "a", extra="  labels: {'bad key': x}\n")
    assert ids(run(text)) == ["k8s/invalid-label"]
    assert ids(run(text)) == ["k8s/invalid-label"]


def test_annotations_over_256_kib() -> None:
    big = "x" * (200 * 1024)
    text = named("ConfigMap", "big", extra=f"  annotations:\n    a: {big}\n    b: {big}\n")
    (f,) = run(text)
    assert f.rule_id == "k8s/invalid-annotation" and f.path == "/metadata/annotations"
    assert f.line == 5
    assert f.message.startswith(f"annotations take {2 * 200 * 1024 + 2} bytes; the limit is")
    # multi-byte characters count in bytes, as the API server counts them
    wide = "é" * (70 * 1024)
    text = named("ConfigMap", "wide", extra=f"  annotations:\n    a: {wide}\n    b: {wide}\n")
    assert ids(run(text)) == ["k8s/invalid-annotation"]


# --- Services and the pods they select --------------------------------------------------------

SERVICES = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: frontend}}
    spec:
      containers: [{name: a, image: x}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  ports: [{port: 80}]
  selector:
    app: web
    tier: backend
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
---
apiVersion: v1
kind: Pod
metadata: {name: p, labels: {run: p}}
spec:
  containers: [{name: a, image: x}]
---
apiVersion: v1
kind: Service
metadata: {name: p, namespace: default}
spec:
  selector: {run: p}
"""


def test_service_selector_matching_no_pod_template() -> None:
    found = run(SERVICES)
    assert ids(found) == ["k8s/service-selector-no-match"] * 2
    wrong_tier, wrong_namespace = found
    assert wrong_tier.severity is Severity.MEDIUM and wrong_tier.source == "schema"
    assert wrong_tier.line == 16 and wrong_tier.column == 3 and wrong_tier.path == "/spec/selector"
    assert wrong_tier.document_index == 1
    assert wrong_tier.resource.kind == "Service" and wrong_tier.resource.namespace == "shop"
    assert wrong_tier.message == (
        "Service selector app=web, tier=backend matches no pod template in namespace 'shop' "
        "(1 there, 2 in the input); closest is Deployment 'web', which lacks tier=backend "
        "(has frontend)")
    # unset namespace is "default": the Deployment in "shop" does not count
    assert wrong_namespace.line == 24 and wrong_namespace.document_index == 2
    assert "namespace 'default' (1 there, 2 in the input)" in wrong_namespace.message


def test_services_across_files_and_without_any_workload() -> None:
    deploy, service = SERVICES.split("---\n")[:2]
    found: list[Finding] = []
    all_facts = []
    for name, text in (("svc.yaml", service), ("deploy.yaml", deploy)):
        for doc in iter_documents(text, name):
            found.extend(check_document(doc))
            fact = facts(doc)
            assert fact is not None
            all_facts.append(fact)
    (f,) = cross_check(all_facts)
    assert f.file == "svc.yaml" and f.line == 6
    # a file of Services alone says nothing about where their pods come from
    assert cross_check([x for x in all_facts if x.kind == "Service"]) == []
    assert cross_check([]) == []


@pytest.mark.parametrize("selector", [
    "{statefulset.kubernetes.io/pod-name: db-2}",
    "{apps.kubernetes.io/pod-index: '0', app: db}",
    "{controller-revision-hash: abc123}",
])
def test_service_selecting_labels_the_controller_adds(selector: str) -> None:
    text = f"""\
    apiVersion: apps/v1
    kind: StatefulSet
    metadata: {{name: db}}
    spec:
      selector: {{matchLabels: {{app: db}}}}
      template:
        metadata: {{labels: {{app: db}}}}
        spec:
          containers: [{{name: a, image: x}}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {{name: db}}
    spec:
      selector: {selector}
    """
    assert run(text) == []
    assert ids(run(text.replace("name: db}", "name: other}", 1))) == (
        ["k8s/service-selector-no-match"] if "pod-name" in selector else [])


def test_facts_survive_pickling_and_locate_lazily() -> None:
    docs = list(iter_documents(textwrap.dedent(SERVICES), "s.yaml"))
    all_facts = [f for f in map(facts, docs) if f is not None]
    assert [f.kind for f in all_facts] == ["Deployment", "Service", "Service", "Pod", "Service"]
    service = all_facts[1]
    assert service.locator is not None and service.locator._positions is None
    assert (service.file, service.line, service.resource.name) == ("s.yaml", 11, "web")
    restored = pickle.loads(pickle.dumps(all_facts))
    assert [(f.line, f.message) for f in cross_check(restored)] == [
        (f.line, f.message) for f in cross_check(all_facts)]
    deployment = facts(docs[0])
    assert deployment is not None
    assert deployment.templates == ({"app": "web", "tier": "frontend"},)


def test_list_items_report_lines_in_the_file() -> None:
    text = textwrap.dedent("""\
    apiVersion: v1
    kind: List
    items:
      - apiVersion: v1
        kind: ConfigMap
        metadata: {name: ok}
      - apiVersion: v1
        kind: Pod
        metadata:
          name: p
        spec:
          containers:
            - {name: a, image: x}
            - {name: a, image: x}
    """)
    (doc,) = iter_documents(text, "list.yaml")
    item = doc.obj["items"][1]
    child = Document(obj=item, file=doc.file, index=doc.index, line=doc.line, text=doc.text,
                     format=doc.format, base_path=("items", 1), _locate=doc._locate)
    (f,) = check_document(child)
    assert f.line == 14 and f.path == "/spec/containers/1/name"


# --- robustness ----------------------------------------------------------------------------------

GARBAGE: list[Any] = [None, 0, -1, 1.5, True, "", "x", "-", [], [None], [[1]], {}, {"a": [1]},
                      {"": None}, {1: 2}, {"a": "b", 1: "c", None: [1]}, [{"name": ["x"]}]]


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _replace(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    root = copy.deepcopy(obj)
    node = root
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return root


def test_garbage_shapes_never_raise() -> None:
    """Every subtree of a rich manifest set replaced by every kind of wrong value: the checks
    skip what they cannot read and never raise."""
    docs = [d.obj for d in iter_documents(CLEAN + "---\n" + POD_DUP_NAMES + "---\n" + PORTS
                                          + "---\n" + LABELS, "g.yaml")]
    runs = 0
    for original in docs:
        for path in _paths(original):
            for value in GARBAGE:
                obj = _replace(original, path, value)
                doc = Document(obj=obj, file="g.yaml", text=None)
                for finding in check_document(doc):
                    assert finding.rule_id in RULES
                fact = facts(doc)
                cross_check([fact] if fact is not None else [])
                runs += 1
    assert runs > 5000


def test_non_mapping_documents_and_foreign_facts() -> None:
    for obj in (None, [], "text", 3, {"kind": 1}, {"kind": "Pod"}, {"apiVersion": "v1"}):
        doc = Document(obj=obj, file="x.yaml")
        assert check_document(doc) == []
        assert facts(doc) is None
    assert cross_check(["not a fact", None]) == []  # type: ignore[list-item]


def test_caches_stay_bounded() -> None:
    for i in range(checks._CACHE_MAX + 100):
        checks._remember(checks._OK_VALUES, f"value-{i}")
    assert len(checks._OK_VALUES) <= checks._CACHE_MAX


def test_cronjob_job_template_selector_needs_manual_selector() -> None:
    text = """\
    apiVersion: batch/v1
    kind: CronJob
    metadata: {name: c}
    spec:
      schedule: "* * * * *"
      jobTemplate:
        spec:
          selector: {matchLabels: {run: c}}
          template:
            metadata: {labels: {run: c}}
            spec:
              restartPolicy: Never
              containers: [{name: a, image: x}]
    """
    (f,) = run(text)
    assert f.rule_id == "k8s/invalid-selector" and f.line == 8
    assert f.path == "/spec/jobTemplate/spec/selector"
    manual = text.replace("selector: {matchLabels: {run: c}}",
                          "manualSelector: true\n          selector: {matchLabels: {run: d}}")
    (g,) = run(manual)
    assert g.rule_id == "k8s/selector-mismatch"
    assert g.path == "/spec/jobTemplate/spec/template/metadata/labels" and g.line == 11


# --- the cross-document check's index against a brute-force oracle -------------------------


def _oracle_no_match(all_facts: list[Facts]) -> list[tuple[str, str]]:
    """(Service name, closest template's name or "") for every Service judged unmatched, by
    trying every pod template of its namespace in input order (the check before its index)."""
    templates = [f for f in all_facts if f.templates]
    if not templates:
        return []
    out = []
    for svc in (f for f in all_facts if f.selector):
        best: tuple[int, str] | None = None
        matched = False
        for w in (w for w in templates if w.namespace == svc.namespace):
            hits = checks._selects(svc.selector, w.templates[0], w.kind, w.name)
            if hits == len(svc.selector):
                matched = True
                break
            if hits and (best is None or hits > best[0]):
                best = (hits, w.name)
        if not matched:
            out.append((svc.name, best[1] if best else ""))
    return out


_PAIRS = [("app", "a"), ("app", "b"), ("tier", "x"), ("tier", "y"), ("pod-template-hash", "h"),
          ("controller-revision-hash", "r"), ("job-name", "w1"), ("v", "1")]


def test_indexed_service_matching_agrees_with_trying_every_template() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from socle.core.finding import Resource

    labels = st.lists(st.sampled_from(_PAIRS), max_size=4).map(dict)
    workload = st.tuples(st.sampled_from(["Deployment", "StatefulSet", "Job", "Pod"]),
                         st.sampled_from(["ns1", "ns2"]), labels)
    service = st.tuples(st.sampled_from(["ns1", "ns2"]), labels.filter(bool))

    @settings(max_examples=300, deadline=None)
    @given(st.lists(workload, max_size=6), st.lists(service, min_size=1, max_size=4))
    def check(workloads: list[tuple[str, str, dict[str, Any]]],
              services: list[tuple[str, dict[str, str]]]) -> None:
        all_facts = [Facts(kind, ns, f"w{i}", "f.yaml", i + 1, i, Resource("v1", kind, ns),
                           templates=(dict(lab),))
                     for i, (kind, ns, lab) in enumerate(workloads)]
        all_facts += [Facts("Service", ns, f"s{i}", "f.yaml", 100 + i, 100 + i,
                            Resource("v1", "Service", ns), selector=tuple(sorted(sel.items())))
                      for i, (ns, sel) in enumerate(services)]
        got = [(f.document_index, f.message.partition("closest is ")[2].split("'")[1:2])
               for f in cross_check(all_facts)]
        want = [(int(name[1:]) + 100, [closest] if closest else [])
                for name, closest in _oracle_no_match(all_facts)]
        assert got == want

    check()
