#!/usr/bin/env python3
"""A deterministic, realistic corpus of Kubernetes manifests for the validate benchmark.

Full size: 10,000 documents in 1,000 files (multi-document YAML, plus ``kind: List`` JSON files
as ``kubectl get -o json`` writes them). Every application is a Deployment with two containers
(probes, resources, env, ports, volumes), a Service selecting it, a ConfigMap it mounts, and
often an Ingress and a custom resource. One file also holds four CustomResourceDefinitions
(int-or-string fields, preserved unknown fields, nested objects, enums, two served versions).

About 0.5% of the documents are made invalid on purpose (wrong types, unknown fields under
strict, missing required fields, bad enums, a null quantity, duplicate keys), and
``<corpus>.json`` (next to the folder) records the expected verdict of every document.
Everything else is clean for socle's extra checks too (unique names, selectors that match,
Services that select a Deployment in the same file, valid names and labels), so socle's
verdicts and kubeconform's can be compared one to one.

    python bench/validate/generate.py                 # bench/out/validate/corpus-full
    python bench/validate/generate.py --small         # 300 documents in 30 files
    python bench/validate/generate.py --docs 2000 --files 200 --out /tmp/corpus
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
from dataclasses import dataclass, field
from typing import Any

import yaml

try:  # the C dumper is ~10x faster; the output is the same
    from yaml import CSafeDumper as _BaseDumper
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]


class Dumper(_BaseDumper):  # type: ignore[misc,valid-type]
    """Multi-line strings as ``|`` blocks, as people write them."""


def _str_presenter(dumper: Any, data: str) -> Any:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


Dumper.add_representer(str, _str_presenter)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "out", "validate")
SEED = 20240611
FULL = (10_000, 1_000)
SMALL = (300, 30)
INVALID_RATE = 0.005


def manifest_path(corpus_dir: str) -> str:
    """Expected verdicts live next to the corpus (``corpus-full.json``), not inside it, so
    that tools given the folder do not read them."""
    return os.path.normpath(corpus_dir) + ".json"

ADJECTIVES = ["amber", "brisk", "calm", "dapper", "eager", "fuzzy", "gentle", "hasty", "icy",
              "jolly", "keen", "lucid", "mellow", "nimble", "olive", "proud", "quiet", "rapid",
              "sunny", "tidy", "urban", "vivid", "witty", "young", "zesty"]
NOUNS = ["api", "billing", "cart", "catalog", "checkout", "gateway", "search", "orders",
         "payments", "profile", "ledger", "notifier", "reports", "inventory", "auth", "media",
         "pricing", "shipping", "reviews", "session"]
TEAMS = ["shop", "platform", "data", "growth", "identity", "logistics", "finance", "support"]
ENVS = ["dev", "staging", "prod"]


# --- the CustomResourceDefinitions -----------------------------------------------------------


def _str(**extra: Any) -> dict[str, Any]:
    return {"type": "string", **extra}


def _int(**extra: Any) -> dict[str, Any]:
    return {"type": "integer", **extra}


def _obj(props: dict[str, Any], required: list[str] | None = None,
         **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    out.update(extra)
    return out


def _crd(group: str, kind: str, plural: str, versions: list[tuple[str, dict[str, Any], bool]],
         short: list[str], scope: str = "Namespaced") -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}",
                     "labels": {"app.kubernetes.io/part-of": "platform"},
                     "annotations": {"controller-gen.kubebuilder.io/version": "v0.16.5"}},
        "spec": {
            "group": group,
            "names": {"kind": kind, "listKind": kind + "List", "plural": plural,
                      "singular": kind.lower(), "shortNames": short},
            "scope": scope,
            "versions": [
                {"name": name, "served": True, "storage": storage,
                 "schema": {"openAPIV3Schema": {
                     "description": f"{kind} is the Schema for the {plural} API.",
                     "type": "object",
                     "properties": {
                         "apiVersion": _str(), "kind": _str(), "metadata": {"type": "object"},
                         "spec": spec,
                         "status": {"type": "object",
                                    "x-kubernetes-preserve-unknown-fields": True},
                     },
                     "required": ["spec"],
                 }},
                 "subresources": {"status": {}},
                 "additionalPrinterColumns": [
                     {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]}
                for name, spec, storage in versions
            ],
        },
    }


def _database_spec() -> dict[str, Any]:
    return _obj({
        "engine": _str(enum=["postgres", "mysql", "mariadb"]),
        "version": _str(pattern="^[0-9]+(\\.[0-9]+)*$"),
        "replicas": _int(minimum=1, maximum=9, default=1),
        "storage": _obj({
            "size": {"x-kubernetes-int-or-string": True,
                     "anyOf": [{"type": "integer"}, {"type": "string"}],
                     "pattern": "^[0-9]+(Mi|Gi|Ti)?$"},
            "storageClassName": _str(),
        }, required=["size"]),
        "backup": _obj({
            "schedule": _str(), "retentionDays": _int(minimum=1),
            "destination": _obj({"bucket": _str(), "prefix": _str()}, required=["bucket"]),
        }),
        "parameters": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "users": {"type": "array", "items": _obj({
            "name": _str(), "privileges": {"type": "array",
                                           "items": _str(enum=["read", "write", "admin"])},
        }, required=["name"])},
    }, required=["engine", "storage"])


def _certificate_spec(v1: bool) -> dict[str, Any]:
    algo = _str(enum=["RSA", "ECDSA", "Ed25519"])
    props: dict[str, Any] = {
        "secretName": _str(),
        "dnsNames": {"type": "array", "items": _str()},
        "duration": _str(),
        "renewBefore": _str(),
        "issuerRef": _obj({"name": _str(), "kind": _str(enum=["Issuer", "ClusterIssuer"]),
                           "group": _str()}, required=["name"]),
        "privateKey": _obj({"algorithm": algo, "size": _int(),
                            "rotationPolicy": _str(enum=["Never", "Always"])}),
    }
    if v1:
        props["usages"] = {"type": "array", "items": _str(enum=[
            "digital signature", "key encipherment", "server auth", "client auth"])}
    return _obj(props, required=["secretName", "issuerRef"])


def _rollout_spec() -> dict[str, Any]:
    return _obj({
        "targetRef": _obj({"apiVersion": _str(), "kind": _str(), "name": _str()},
                          required=["kind", "name"]),
        "maxSurge": {"type": "string", "format": "int-or-string"},
        "progressDeadlineSeconds": _int(),
        "analysis": _obj({
            "interval": _str(), "threshold": _int(), "maxWeight": _int(maximum=100),
            "stepWeight": _int(),
            "metrics": {"type": "array", "items": _obj({
                "name": _str(), "thresholdRange": _obj({"min": {"type": "number"},
                                                        "max": {"type": "number"}}),
                "interval": _str()}, required=["name"])},
        }),
        "service": _obj({"port": _int(), "targetPort": {"x-kubernetes-int-or-string": True},
                         "gateways": {"type": "array", "items": _str()}}, required=["port"]),
        "skipAnalysis": {"type": "boolean"},
    }, required=["targetRef", "service"])


def _alert_spec() -> dict[str, Any]:
    return _obj({
        "groups": {"type": "array", "items": _obj({
            "name": _str(), "interval": _str(),
            "rules": {"type": "array", "items": _obj({
                "alert": _str(), "expr": {"x-kubernetes-int-or-string": True}, "for": _str(),
                "labels": {"type": "object", "additionalProperties": _str()},
                "annotations": {"type": "object", "additionalProperties": _str()},
            }, required=["expr"])},
        }, required=["name", "rules"])},
    }, required=["groups"])


def crds() -> list[dict[str, Any]]:
    return [
        _crd("platform.example.com", "Database", "databases",
             [("v1", _database_spec(), True)], ["db"]),
        _crd("tls.example.com", "Certificate", "certificates",
             [("v1", _certificate_spec(True), True), ("v1beta1", _certificate_spec(False), False)],
             ["cert"]),
        _crd("delivery.example.com", "Rollout", "rollouts",
             [("v1alpha1", _rollout_spec(), True)], ["ro"]),
        _crd("monitoring.example.com", "AlertRule", "alertrules",
             [("v1", _alert_spec(), True)], ["ar"]),
    ]


# --- applications ----------------------------------------------------------------------------


@dataclass
class Doc:
    obj: dict[str, Any]
    expected: str = "valid"
    mutation: str = ""
    duplicate_key: bool = False


@dataclass
class App:
    name: str
    namespace: str
    team: str
    env: str
    rnd: random.Random
    labels: dict[str, str] = field(default_factory=dict)

    def selector(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": self.name, "app.kubernetes.io/instance": self.name}


def _meta(app: App, name: str, extra: dict[str, str] | None = None) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": app.name, "app.kubernetes.io/part-of": app.team,
              "app.kubernetes.io/managed-by": "argocd", "environment": app.env}
    if extra:
        labels.update(extra)
    return {"name": name, "namespace": app.namespace, "labels": labels}


def deployment(app: App, share_labels: bool) -> dict[str, Any]:
    r = app.rnd
    port = r.choice([8080, 8000, 3000, 9000])
    version = f"{r.randint(1, 4)}.{r.randint(0, 20)}.{r.randint(0, 9)}"
    selector = app.selector()
    # a few authors share the labels through a YAML anchor (the dumper writes &id001/*id001)
    pod_labels = selector if share_labels else {**selector, "app.kubernetes.io/version": version}
    meta = _meta(app, app.name, {"app.kubernetes.io/version": version})
    meta["annotations"] = {"deployment.kubernetes.io/revision": str(r.randint(1, 40)),
                           "owner": f"{app.team}@example.com"}
    main = {
        "name": app.name.split("-")[1] if r.random() < 0.5 else "app",
        "image": f"registry.example.com/{app.team}/{app.name}:{version}",
        "imagePullPolicy": "IfNotPresent",
        "args": [f"--port={port}", "--log-format=json",
                 f"--log-level={r.choice(['info', 'debug'])}"],
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"},
                  {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}],
        "env": [
            {"name": "APP_ENV", "value": app.env},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": f"{app.name}-db",
                                                                   "key": "password"}}},
            {"name": "FEATURE_NEW_CHECKOUT", "value": r.choice(["true", "false"])},
            {"name": "MAX_CONNECTIONS", "value": str(r.choice([50, 100, 200]))},
            {"name": "GOMAXPROCS", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu",
                                                                      "divisor": "1"}}},
        ],
        "envFrom": [{"configMapRef": {"name": f"{app.name}-config"}}],
        "resources": {"requests": {"cpu": r.choice(["50m", "100m", "250m"]),
                                   "memory": r.choice(["64Mi", "128Mi", "256Mi"])},
                      "limits": {"cpu": r.choice(["500m", "1", 2]),
                                 "memory": r.choice(["256Mi", "512Mi", "1Gi"])}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"},
                          "initialDelaySeconds": 10, "periodSeconds": 10, "timeoutSeconds": 2,
                          "failureThreshold": 3},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": port, "scheme": "HTTP"},
                           "periodSeconds": 5, "successThreshold": 1},
        "startupProbe": {"tcpSocket": {"port": port}, "failureThreshold": 30,
                         "periodSeconds": 2},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app", "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}],
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}},
    }
    sidecar = {
        "name": "envoy",
        "image": f"envoyproxy/envoy:v1.{r.randint(28, 32)}.{r.randint(0, 5)}",
        "args": ["-c", "/etc/envoy/envoy.yaml", "--log-level", "warn"],
        "ports": [{"name": "proxy", "containerPort": 15001},
                  {"name": "envoy-admin", "containerPort": 15000}],
        "env": [{"name": "ENVOY_UID", "value": "0"},
                {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"},
                      "limits": {"memory": "128Mi"}},
        "readinessProbe": {"tcpSocket": {"port": 15001}, "periodSeconds": 10},
        "livenessProbe": {"exec": {"command": ["/bin/sh", "-c", "pgrep envoy"]},
                          "periodSeconds": 30},
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
        "volumeMounts": [{"name": "envoy-config", "mountPath": "/etc/envoy", "readOnly": True}],
    }
    pod_spec: dict[str, Any] = {
        "serviceAccountName": app.name,
        "securityContext": {"runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "terminationGracePeriodSeconds": 30,
        "containers": [main, sidecar],
        "volumes": [
            {"name": "config", "configMap": {"name": f"{app.name}-config", "defaultMode": 420}},
            {"name": "envoy-config", "configMap": {"name": f"{app.name}-config", "items": [
                {"key": "envoy.yaml", "path": "envoy.yaml"}]}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
        ],
        "nodeSelector": {"kubernetes.io/os": "linux"},
    }
    if r.random() < 0.4:
        pod_spec["topologySpreadConstraints"] = [{
            "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": selector}}]
    if r.random() < 0.3:
        pod_spec["tolerations"] = [{"key": "dedicated", "operator": "Equal",
                                    "value": app.team, "effect": "NoSchedule"}]
    if r.random() < 0.3:
        pod_spec["affinity"] = {"podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [{
                "weight": 100, "podAffinityTerm": {
                    "topologyKey": "kubernetes.io/hostname",
                    "labelSelector": {"matchLabels": dict(selector)}}}]}}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": r.choice([1, 2, 3, 5]),
            "revisionHistoryLimit": 5,
            "progressDeadlineSeconds": 600,
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": r.choice(["25%", 1]),
                                           "maxUnavailable": r.choice([0, "10%"])}},
            "selector": {"matchLabels": selector if share_labels else dict(selector)},
            "template": {
                "metadata": {"labels": pod_labels,
                             "annotations": {"prometheus.io/scrape": "true",
                                             "prometheus.io/port": "9090"}},
                "spec": pod_spec,
            },
        },
    }


def service(app: App) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(app, app.name),
        "spec": {
            "type": "ClusterIP",
            "selector": app.selector(),
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"},
                      {"name": "metrics", "port": 9090, "targetPort": 9090}],
            "sessionAffinity": "None",
        },
    }


ENVOY = """static_resources:
  listeners:
  - name: ingress
    address:
      socket_address: {{ address: 0.0.0.0, port_value: 15001 }}
  clusters:
  - name: local
    connect_timeout: {timeout}s
    load_assignment:
      cluster_name: local
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: {{ address: 127.0.0.1, port_value: 8080 }}
"""


def configmap(app: App, name: str | None = None) -> dict[str, Any]:
    r = app.rnd
    data = {
        "LOG_FORMAT": "json",
        "CACHE_TTL": f"{r.randint(1, 60)}m",
        "UPSTREAM_URL": f"http://{r.choice(NOUNS)}.{app.namespace}.svc.cluster.local",
        "MAX_CONNECTIONS": str(r.choice([50, 100, 200])),
        "ENABLE_TRACING": r.choice(["true", "false"]),
        "envoy.yaml": ENVOY.format(timeout=r.randint(1, 5)),
    }
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": _meta(app, name or f"{app.name}-config"), "data": data}


def ingress(app: App) -> dict[str, Any]:
    host = f"{app.name}.{app.env}.example.com"
    meta = _meta(app, app.name)
    meta["annotations"] = {"cert-manager.io/cluster-issuer": "letsencrypt",
                           "nginx.ingress.kubernetes.io/proxy-body-size": "8m"}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": meta,
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": [host], "secretName": f"{app.name}-tls"}],
            "rules": [{"host": host, "http": {"paths": [
                {"path": "/", "pathType": "Prefix",
                 "backend": {"service": {"name": app.name, "port": {"name": "http"}}}},
                {"path": "/metrics", "pathType": "Exact",
                 "backend": {"service": {"name": app.name, "port": {"number": 9090}}}},
            ]}}],
        },
    }


def custom_resource(app: App) -> dict[str, Any]:
    r = app.rnd
    which = r.randrange(5)
    if which == 0:
        spec: dict[str, Any] = {
            "engine": r.choice(["postgres", "mysql"]), "version": r.choice(["16.4", "8.0"]),
            "replicas": r.choice([1, 3]),
            "storage": {"size": r.choice(["10Gi", "50Gi", 20]), "storageClassName": "fast"},
            "backup": {"schedule": "0 3 * * *", "retentionDays": 7,
                       "destination": {"bucket": f"{app.team}-backups", "prefix": app.name}},
            "parameters": {"max_connections": "200", "shared_buffers": "256MB",
                           "logging": {"level": "warning", "slow_ms": 500}},
            "users": [{"name": app.name.replace("-", "_"), "privileges": ["read", "write"]},
                      {"name": "readonly", "privileges": ["read"]}],
        }
        return {"apiVersion": "platform.example.com/v1", "kind": "Database",
                "metadata": _meta(app, f"{app.name}-db"), "spec": spec}
    if which in (1, 2):
        spec = {"secretName": f"{app.name}-tls",
                "dnsNames": [f"{app.name}.{app.env}.example.com"],
                "duration": "2160h", "renewBefore": "360h",
                "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer",
                              "group": "cert-manager.io"},
                "privateKey": {"algorithm": r.choice(["RSA", "ECDSA"]),
                               "size": r.choice([2048, 256]), "rotationPolicy": "Always"}}
        version = "v1beta1" if which == 2 else "v1"
        if version == "v1":
            spec["usages"] = ["digital signature", "key encipherment", "server auth"]
        return {"apiVersion": f"tls.example.com/{version}", "kind": "Certificate",
                "metadata": _meta(app, f"{app.name}-cert"), "spec": spec}
    if which == 3:
        spec = {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app.name},
                "maxSurge": r.choice(["25%", "1"]), "progressDeadlineSeconds": 60,
                "analysis": {"interval": "1m", "threshold": 5, "maxWeight": 50,
                             "stepWeight": 10, "metrics": [
                                 {"name": "request-success-rate",
                                  "thresholdRange": {"min": 99}, "interval": "1m"},
                                 {"name": "request-duration",
                                  "thresholdRange": {"max": 0.5}, "interval": "30s"}]},
                "service": {"port": 80, "targetPort": r.choice([8080, "http"]),
                            "gateways": ["public-gateway"]},
                "skipAnalysis": False}
        return {"apiVersion": "delivery.example.com/v1alpha1", "kind": "Rollout",
                "metadata": _meta(app, f"{app.name}-rollout"), "spec": spec}
    spec = {"groups": [{"name": app.name, "interval": "30s", "rules": [
        {"alert": "HighErrorRate",
         "expr": f'sum(rate(http_requests_total{{app="{app.name}",code=~"5.."}}[5m])) > 1',
         "for": "10m", "labels": {"severity": "page", "team": app.team},
         "annotations": {"summary": f"{app.name} is failing requests",
                         "runbook": f"https://runbooks.example.com/{app.name}"}},
        {"alert": "AlwaysFiring", "expr": 1, "labels": {"severity": "none"}},
    ]}]}
    return {"apiVersion": "monitoring.example.com/v1", "kind": "AlertRule",
            "metadata": _meta(app, f"{app.name}-alerts"), "spec": spec}


# --- invalid documents -----------------------------------------------------------------------


def _containers(o: dict[str, Any]) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = o["spec"]["template"]["spec"]["containers"]
    return containers


def _rename(d: dict[str, Any], old: str, new: str) -> None:
    d[new] = d.pop(old)


def _m_replicas_string(o: dict[str, Any]) -> None:
    o["spec"]["replicas"] = "three"


def _m_probe_typo(o: dict[str, Any]) -> None:
    _rename(_containers(o)[0], "livenessProbe", "livenessprobe")


def _m_container_no_name(o: dict[str, Any]) -> None:
    del _containers(o)[1]["name"]


def _m_container_port_string(o: dict[str, Any]) -> None:
    port = _containers(o)[0]["ports"][1]
    port["containerPort"] = str(port["containerPort"])


def _m_spec_typo(o: dict[str, Any]) -> None:
    o["spec"]["minReadySecond"] = 10


def _m_null_quantity(o: dict[str, Any]) -> None:
    _containers(o)[0]["resources"]["limits"]["cpu"] = None


def _m_service_port_string(o: dict[str, Any]) -> None:
    o["spec"]["ports"][0]["port"] = "80"


def _m_service_missing_port(o: dict[str, Any]) -> None:
    del o["spec"]["ports"][1]["port"]


def _m_service_field_typo(o: dict[str, Any]) -> None:
    _rename(o["spec"]["ports"][1], "targetPort", "targetport")


def _m_configmap_int(o: dict[str, Any]) -> None:
    o["data"]["MAX_CONNECTIONS"] = int(o["data"]["MAX_CONNECTIONS"])


def _m_configmap_labels_typo(o: dict[str, Any]) -> None:
    _rename(o["metadata"], "labels", "lables")


def _m_ingress_no_path_type(o: dict[str, Any]) -> None:
    del o["spec"]["rules"][0]["http"]["paths"][1]["pathType"]


def _m_ingress_port_string(o: dict[str, Any]) -> None:
    o["spec"]["rules"][0]["http"]["paths"][1]["backend"]["service"]["port"]["number"] = "9090"


def _m_cr_bad_enum(o: dict[str, Any]) -> None:
    s = o["spec"]
    if o["kind"] == "Database":
        s["engine"] = "oracle"
    elif o["kind"] == "Certificate":
        s["privateKey"]["algorithm"] = "DSA"
    elif o["kind"] == "Rollout":
        s["analysis"]["maxWeight"] = 150  # above maximum
    else:
        s["groups"][0]["rules"][0]["expr"] = True  # neither integer nor string


def _m_cr_wrong_type(o: dict[str, Any]) -> None:
    s = o["spec"]
    if o["kind"] == "Database":
        s["replicas"] = "2"
    elif o["kind"] == "Certificate":
        s["dnsNames"] = s["dnsNames"][0]
    elif o["kind"] == "Rollout":
        s["skipAnalysis"] = "no"
    else:
        s["groups"][0]["rules"][0]["labels"]["priority"] = 1


def _m_cr_unknown_nested(o: dict[str, Any]) -> None:
    s = o["spec"]
    target = {"Database": lambda: s["storage"], "Certificate": lambda: s["issuerRef"],
              "Rollout": lambda: s["service"], "AlertRule": lambda: s["groups"][0]}[o["kind"]]()
    target["namespace"] = "cert-manager"


def _m_cr_missing_required(o: dict[str, Any]) -> None:
    s = o["spec"]
    key = {"Database": "engine", "Certificate": "issuerRef", "Rollout": "service",
           "AlertRule": "groups"}[o["kind"]]
    del s[key]


def _m_cr_int_or_string_bool(o: dict[str, Any]) -> None:
    s = o["spec"]
    if o["kind"] == "Database":
        s["storage"]["size"] = True
    elif o["kind"] == "Rollout":
        s["maxSurge"] = 1.5
    elif o["kind"] == "Certificate":
        s["privateKey"]["size"] = "2048"
    else:
        s["groups"][0]["rules"][0]["expr"] = 0.5


MUTATIONS: dict[str, tuple[tuple[str, ...], Any]] = {
    "replicas-string": (("Deployment",), _m_replicas_string),
    "probe-typo-strict": (("Deployment",), _m_probe_typo),
    "container-missing-name": (("Deployment",), _m_container_no_name),
    "container-port-string": (("Deployment",), _m_container_port_string),
    "spec-typo-strict": (("Deployment",), _m_spec_typo),
    "null-quantity": (("Deployment",), _m_null_quantity),
    "service-port-string": (("Service",), _m_service_port_string),
    "service-missing-port": (("Service",), _m_service_missing_port),
    "service-field-typo-strict": (("Service",), _m_service_field_typo),
    "configmap-value-int": (("ConfigMap",), _m_configmap_int),
    "metadata-typo-strict": (("ConfigMap",), _m_configmap_labels_typo),
    "ingress-missing-pathtype": (("Ingress",), _m_ingress_no_path_type),
    "ingress-port-string": (("Ingress",), _m_ingress_port_string),
    "cr-bad-enum": (("Database", "Certificate", "Rollout", "AlertRule"), _m_cr_bad_enum),
    "cr-wrong-type": (("Database", "Certificate", "Rollout", "AlertRule"), _m_cr_wrong_type),
    "cr-unknown-nested-field": (("Database", "Certificate", "Rollout", "AlertRule"),
                                _m_cr_unknown_nested),
    "cr-missing-required": (("Database", "Certificate", "Rollout", "AlertRule"),
                            _m_cr_missing_required),
    "cr-int-or-string-wrong": (("Database", "Certificate", "Rollout", "AlertRule"),
                               _m_cr_int_or_string_bool),
    "duplicate-key-strict": (("Service",), None),  # applied to the YAML text
}


# --- files -----------------------------------------------------------------------------------


def _partition(total: int, parts: int, rnd: random.Random) -> list[int]:
    """``parts`` sizes summing to ``total``, each within +-50% of the mean."""
    mean = total / parts
    lo, hi = max(1, int(mean * 0.5)), max(1, int(mean * 1.5))
    sizes = [rnd.randint(lo, hi) for _ in range(parts)]
    diff = total - sum(sizes)
    i = 0
    while diff:
        j = i % parts
        step = 1 if diff > 0 else -1
        if (step > 0 and sizes[j] < hi * 2) or (step < 0 and sizes[j] > 1):
            sizes[j] += step
            diff -= step
        i += 1
    return sizes


def _dump(doc: Doc) -> str:
    meta, kind = doc.obj["metadata"], doc.obj["kind"].lower()
    source = f"# Source: {meta['name']}/templates/{kind}.yaml\n"
    text: str = source + yaml.dump(doc.obj, Dumper=Dumper, sort_keys=False,
                                   default_flow_style=False, width=100)
    if doc.duplicate_key:
        marker = "\nspec:\n"
        at = text.index(marker) + len(marker)
        text = text[:at] + "  type: ClusterIP\n" + text[at:]  # the same key appears again below
    return text


@dataclass
class Corpus:
    files: list[tuple[str, list[Doc], str]]  # relative path, docs, format (yaml | json)


def build(n_docs: int, n_files: int, seed: int = SEED,
          invalid_rate: float = INVALID_RATE) -> Corpus:
    rnd = random.Random(seed)
    sizes = _partition(n_docs, n_files, rnd)
    biggest = max(range(n_files), key=sizes.__getitem__)
    sizes[0], sizes[biggest] = sizes[biggest], sizes[0]  # the CRDs' file holds the most
    used_names: set[str] = set()
    files: list[tuple[str, list[Doc], str]] = []
    counter = 0
    for index, size in enumerate(sizes):
        team = TEAMS[index % len(TEAMS)]
        env = ENVS[(index // len(TEAMS)) % len(ENVS)]
        namespace = f"{team}-{env}"
        docs: list[Doc] = []
        if index == 0:
            docs.extend(Doc(c) for c in crds()[:size])
        remaining = size - len(docs)
        while remaining > 0:
            counter += 1
            while True:
                name = f"{rnd.choice(ADJECTIVES)}-{rnd.choice(NOUNS)}-{counter:05d}"
                if name not in used_names:
                    used_names.add(name)
                    break
            app = App(name, namespace, team, env, random.Random(rnd.random()))
            if remaining < 3:  # not room for a whole application: configuration only
                for k in range(remaining):
                    docs.append(Doc(configmap(app, f"{app.name}-settings-{k}")))
                break
            bundle = [Doc(configmap(app)), Doc(deployment(app, rnd.random() < 0.05)),
                      Doc(service(app))]
            extras = []
            if rnd.random() < 0.6:
                extras.append(Doc(ingress(app)))
            if rnd.random() < 0.45:
                extras.append(Doc(custom_resource(app)))
            bundle.extend(extras[:remaining - 3])
            docs.extend(bundle)
            remaining -= len(bundle)
        fmt = "json" if index % 20 == 7 else "yaml"
        folder = f"{team}/{env}"
        stem = docs[-1].obj["metadata"]["name"] if index else "crds"
        files.append((f"{folder}/{index:04d}-{stem}.{fmt}", docs, fmt))
    _make_invalid(files, n_docs, rnd, invalid_rate)
    return Corpus(files)


def _make_invalid(files: list[tuple[str, list[Doc], str]], n_docs: int,
                  rnd: random.Random, rate: float) -> None:
    names = list(MUTATIONS)
    wanted = max(round(n_docs * rate), min(len(names), n_docs // 10))
    candidates: dict[str, list[tuple[Doc, str]]] = {}
    for _path, docs, fmt in files:
        for doc in docs:
            candidates.setdefault(doc.obj["kind"], []).append((doc, fmt))
    for kind in candidates:
        rnd.shuffle(candidates[kind])
    done = 0
    i = 0
    while done < wanted:
        mutation = names[i % len(names)]
        i += 1
        kinds, fn = MUTATIONS[mutation]
        pool = [c for k in kinds for c in candidates.get(k, [])]
        pool = [(d, f) for d, f in pool if d.expected == "valid"
                and not (fn is None and f == "json")]
        if not pool:
            if i > 10 * len(names) + wanted:
                break
            continue
        doc, _fmt = pool[rnd.randrange(len(pool))]
        if fn is None:
            doc.duplicate_key = True
        else:
            fn(doc.obj)
        doc.expected, doc.mutation = "invalid", mutation
        done += 1


def write(corpus: Corpus, out_dir: str, seed: int) -> dict[str, Any]:
    """Writes the files and the manifest of expected verdicts; returns the manifest."""
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    if os.path.exists(manifest_path(out_dir)):
        os.unlink(manifest_path(out_dir))
    resources = []
    total_bytes = 0
    for rel, docs, fmt in corpus.files:
        path = os.path.join(out_dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if fmt == "json":
            text = json.dumps({"apiVersion": "v1", "kind": "List", "metadata": {},
                               "items": [d.obj for d in docs]}, indent=2) + "\n"
        else:
            text = "---\n".join(_dump(d) for d in docs)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        total_bytes += len(text.encode())
        for d in docs:
            meta = d.obj["metadata"]
            resources.append({"file": rel, "apiVersion": d.obj["apiVersion"],
                              "kind": d.obj["kind"], "namespace": meta.get("namespace", ""),
                              "name": meta["name"], "expected": d.expected,
                              **({"mutation": d.mutation} if d.mutation else {})})
    kinds: dict[str, int] = {}
    for r in resources:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    manifest = {
        "generator": "bench/validate/generate.py", "seed": seed,
        "documents": len(resources), "files": len(corpus.files), "bytes": total_bytes,
        "kinds": dict(sorted(kinds.items())),
        "invalid": sum(1 for r in resources if r["expected"] == "invalid"),
        "resources": resources,
    }
    with open(manifest_path(out_dir), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=0)
    return manifest


def generate(out_dir: str, n_docs: int, n_files: int, seed: int = SEED,
             invalid_rate: float = INVALID_RATE) -> dict[str, Any]:
    return write(build(n_docs, n_files, seed, invalid_rate), out_dir, seed)


def load_manifest(corpus_dir: str) -> dict[str, Any] | None:
    try:
        with open(manifest_path(corpus_dir), encoding="utf-8") as fh:
            manifest: dict[str, Any] = json.load(fh)
            return manifest
    except (OSError, ValueError):
        return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--small", action="store_true", help="300 documents in 30 files")
    p.add_argument("--docs", type=int, default=None)
    p.add_argument("--files", type=int, default=None)
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--out", default=None, help="output folder (replaced)")
    args = p.parse_args(argv)
    n_docs, n_files = SMALL if args.small else FULL
    n_docs, n_files = args.docs or n_docs, args.files or n_files
    if n_files < 1 or n_docs < max(n_files, 4):
        p.error("need at least 4 documents and one document per file")
    out = args.out or os.path.join(OUT, "corpus-small" if args.small else "corpus-full")
    m = generate(out, n_docs, n_files, args.seed)
    print(f"{out}: {m['documents']} documents ({m['invalid']} invalid) in {m['files']} files, "
          f"{m['bytes'] / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
