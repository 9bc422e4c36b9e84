"""Random Kubernetes manifests for the differential fuzz test against kubeconform: a dozen
and a half kinds written out in random YAML styles (block and flow collections, quoting,
comments, indentless sequences, anchors, aliases and merge keys, explicit keys, several
documents per file, CRLF line ends, a byte order mark, a missing final line break, "..."
lines), some of them mutated (a value replaced by a YAML 1.1 scalar such as ``0x1F``, ``on``,
``~`` or ``1e3``, a key deleted or added, a mapping where a list belongs). Seeded: a seed gives
the same files every time."""

from __future__ import annotations

import copy
import json
import os
import random
import re
from typing import Any

from socle_testing import value_at, value_paths


class Raw(str):
    """A scalar written into the YAML exactly as it is (plain, quoted, tagged, a block)."""


SCALARS = [
    "yes", "No", "on", "OFF", "y", "n", "~", "null", "Null", "true", "False", "TRUE",
    "0x1F", "0o17", "017", "08", "1_000", "1e3", "1E3", "1.5e3", ".5", "+12", "-0", "-1", "0",
    ".inf", "-.Inf", ".NaN", "1.0", "3.14", "2147483648", "9223372036854775807",
    "9223372036854775808", "18446744073709551616", "1:20", "0b1010", "+.5", "1.", "00",
    "'80'", '"80"', "'true'", '"yes"', "''", '""', "12Gi", "500m", "abc", "http",
    "2001-12-14", "2001-12-14t21:59:43.10-05:00", "12:30:00", "=", "-", "--",
    "[]", "{}", "[a, b]", "{a: 1}", "[1, 2]", "!!str 5", "!!int 5", "!!float 5",
    "!!bool yes", "0.0", "-1e-3", "1e400", "123456789012345678901234567890",
    "|\n  block\n", ">-\n  folded\n", "1e+3", "1_0.5", "+0x10", "-0x10", "0777", "0o8",
    "_1", ".0", "0.", "-.5", "+1.5e+3", "1.5e", "e3", "tRUE", "nULL", "NO", "Yes", "On",
]
NEW_KEYS = ["extra", "Name", "labels", "spec", "value", "x-y", "replicas", "port"]
RAW_KEYS = ["1", "yes", "~", "on", "0x1F"]


def _pod_spec(name: str) -> dict[str, Any]:
    return {
        "serviceAccountName": "sa", "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "fsGroup": 2000,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "app", "image": "registry.local/app:1.2.3",
            "imagePullPolicy": "IfNotPresent", "args": ["--port", "8080", "--verbose"],
            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
            "env": [{"name": "MODE", "value": "prod"},
                    {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                          "limits": {"cpu": 1, "memory": "256Mi"}},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"},
                               "initialDelaySeconds": 5, "periodSeconds": 10},
            "livenessProbe": {"tcpSocket": {"port": 8080}, "failureThreshold": 3},
            "securityContext": {"allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}},
            "volumeMounts": [{"name": "cfg", "mountPath": "/etc/app", "readOnly": True}],
        }],
        "volumes": [{"name": "cfg", "configMap": {"name": name, "defaultMode": 420}}],
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "app",
                         "effect": "NoSchedule", "tolerationSeconds": 30}],
        "nodeSelector": {"kubernetes.io/os": "linux"},
    }


def _meta(name: str) -> dict[str, Any]:
    return {"name": name, "namespace": "team", "labels": {"app": name, "tier": "web"},
            "annotations": {"owner": "team-a", "checksum": "abc123"}}


def manifests(name: str) -> list[dict[str, Any]]:
    """One valid manifest of each kind the fuzz test writes."""
    sel = {"matchLabels": {"app": name}}
    template = {"metadata": {"labels": {"app": name}}, "spec": _pod_spec(name)}
    rbac = "rbac.authorization.k8s.io"
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(name),
         "spec": {"replicas": 3, "revisionHistoryLimit": 5, "selector": sel,
                  "strategy": {"type": "RollingUpdate",
                               "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
                  "template": template}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": _meta(name),
         "spec": {"serviceName": name, "replicas": 2, "selector": sel, "template": template,
                  "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                      "accessModes": ["ReadWriteOnce"],
                      "resources": {"requests": {"storage": "1Gi"}}}}]}},
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": _meta(name),
         "spec": {"selector": sel, "template": template,
                  "updateStrategy": {"type": "RollingUpdate",
                                     "rollingUpdate": {"maxUnavailable": "10%"}}}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": _meta(name),
         "spec": {"schedule": "*/5 * * * *", "concurrencyPolicy": "Forbid",
                  "successfulJobsHistoryLimit": 1, "startingDeadlineSeconds": 100,
                  "jobTemplate": {"spec": {
                      "backoffLimit": 2, "activeDeadlineSeconds": 600,
                      "template": {"spec": {**_pod_spec(name), "restartPolicy": "OnFailure"}}}}}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": _meta(name),
         "spec": {"completions": 3, "parallelism": 2, "ttlSecondsAfterFinished": 100,
                  "template": {"spec": {**_pod_spec(name), "restartPolicy": "Never"}}}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": _meta(name), "spec": _pod_spec(name)},
        {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name),
         "spec": {"type": "ClusterIP", "selector": {"app": name}, "sessionAffinity": "None",
                  "ports": [{"name": "http", "port": 80, "targetPort": "http",
                             "protocol": "TCP"},
                            {"name": "metrics", "port": 9090, "targetPort": 9090}]}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(name),
         "data": {"LOG_LEVEL": "info", "app.properties": "a=1\nb=2\n", "empty": ""},
         "binaryData": {"blob": "aGVsbG8="}, "immutable": False},
        {"apiVersion": "v1", "kind": "Secret", "metadata": _meta(name), "type": "Opaque",
         "stringData": {"password": "s3cret"}, "data": {"token": "dG9rZW4="}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": _meta(name),
         "spec": {"ingressClassName": "nginx",
                  "tls": [{"hosts": ["a.example.test"], "secretName": "tls"}],
                  "rules": [{"host": "a.example.test", "http": {"paths": [
                      {"path": "/", "pathType": "Prefix",
                       "backend": {"service": {"name": name, "port": {"number": 80}}}},
                      {"path": "/api", "pathType": "ImplementationSpecific",
                       "backend": {"service": {"name": name, "port": {"name": "http"}}}}]}}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta(name),
         "spec": {"podSelector": sel, "policyTypes": ["Ingress", "Egress"],
                  "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "a"}}},
                                        {"ipBlock": {"cidr": "10.0.0.0/8",
                                                     "except": ["10.1.0.0/16"]}}],
                               "ports": [{"protocol": "TCP", "port": 8080}, {"port": "http"}]}],
                  "egress": [{"to": [{"podSelector": {}}],
                              "ports": [{"port": 53, "protocol": "UDP", "endPort": 60}]}]}},
        {"apiVersion": f"{rbac}/v1", "kind": "Role", "metadata": _meta(name),
         "rules": [{"apiGroups": [""], "resources": ["pods", "pods/log"],
                    "verbs": ["get", "list"]},
                   {"apiGroups": ["apps"], "resources": ["deployments"],
                    "resourceNames": ["x"], "verbs": ["patch"]}]},
        {"apiVersion": f"{rbac}/v1", "kind": "RoleBinding", "metadata": _meta(name),
         "roleRef": {"apiGroup": rbac, "kind": "Role", "name": name},
         "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": "team"},
                      {"kind": "User", "name": "jane", "apiGroup": rbac}]},
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
         "metadata": _meta(name),
         "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "name": name},
                  "minReplicas": 2, "maxReplicas": 10,
                  "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                      "type": "Utilization", "averageUtilization": 70}}},
                      {"type": "Resource", "resource": {"name": "memory", "target": {
                          "type": "AverageValue", "averageValue": "500Mi"}}}],
                  "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300, "policies": [
                      {"type": "Pods", "value": 1, "periodSeconds": 60}]}}}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _meta(name),
         "spec": {"minAvailable": "50%", "selector": sel}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": _meta(name),
         "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast",
                  "resources": {"requests": {"storage": "10Gi"}}, "volumeMode": "Filesystem"}},
        {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": _meta(name),
         "spec": {"hard": {"requests.cpu": "4", "requests.memory": "8Gi", "pods": 20}}},
        {"apiVersion": "v1", "kind": "LimitRange", "metadata": _meta(name),
         "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"},
                              "defaultRequest": {"cpu": 0.25}, "max": {"memory": "1Gi"}}]}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(name),
         "automountServiceAccountToken": False, "imagePullSecrets": [{"name": "reg"}]},
        {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
         "metadata": {"name": name}, "value": 1000000, "globalDefault": False,
         "description": "high"},
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
         "provisioner": "ebs.csi.aws.com", "parameters": {"type": "gp3", "iops": "3000"},
         "reclaimPolicy": "Delete", "allowVolumeExpansion": True,
         "volumeBindingMode": "WaitForFirstConsumer"},
    ]


# --- mutations ---------------------------------------------------------------------------------


def mutate(o: dict[str, Any], rnd: random.Random) -> None:
    """One random change (apiVersion and kind stay, so both tools pick the same schema)."""
    paths = [p for p in value_paths(o) if p and p[0] not in ("apiVersion", "kind")]
    path = rnd.choice(paths)
    parent = value_at(o, path[:-1])
    what = rnd.random()
    if what < 0.55:
        parent[path[-1]] = Raw(rnd.choice(SCALARS))
    elif what < 0.7 and isinstance(parent, dict):
        del parent[path[-1]]
    elif what < 0.85:
        target = value_at(o, rnd.choice([p for p in value_paths(o)
                                         if isinstance(value_at(o, p), dict)]))
        key: str = Raw(rnd.choice(RAW_KEYS)) if rnd.random() < 0.3 else rnd.choice(NEW_KEYS)
        target[key] = Raw(rnd.choice(SCALARS)) if rnd.random() < 0.5 else "v"
    else:  # a mapping where a list belongs, or the reverse
        value = value_at(o, path)
        parent[path[-1]] = [value] if not isinstance(value, list) else (
            value[0] if value else {})


# --- writing YAML ------------------------------------------------------------------------------

_PLAIN = re.compile(r"[A-Za-z/][A-Za-z0-9_./-]*")
_WORDS = {"yes", "no", "on", "off", "y", "n", "true", "false", "null"}


class Writer:
    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self.anchors: dict[str, Any] = {}

    def string(self, s: str) -> str:
        r = self.rnd.random()
        if r < 0.5 and _PLAIN.fullmatch(s) and s.lower() not in _WORDS:
            return s
        if r < 0.75 and "'" not in s and "\n" not in s:
            return "'" + s + "'"
        return json.dumps(s, ensure_ascii=self.rnd.random() < 0.5)

    def scalar(self, v: Any) -> str:
        if isinstance(v, Raw):
            return str(v)
        if v is None:
            return self.rnd.choice(["null", "~", ""])
        if isinstance(v, bool):
            return self.rnd.choice(["true", "True", "TRUE"] if v else ["false", "False"])
        if isinstance(v, int):
            return self.rnd.choice([str(v), str(v), f"+{v}" if v >= 0 else str(v)])
        if isinstance(v, float):
            return repr(v)
        return self.string(v)

    def key(self, k: str) -> str:
        return str(k) if isinstance(k, Raw) else self.string(k)

    def flow(self, o: Any) -> str:
        if isinstance(o, dict):
            return "{" + ", ".join(f"{self.key(k)}: {self.flow(v)}" for k, v in o.items()) + "}"
        if isinstance(o, list):
            return "[" + ", ".join(self.flow(v) for v in o) + "]"
        s = self.scalar(o)
        if isinstance(o, Raw) and ("\n" in s or s.startswith(("|", ">", "-", "!"))):
            return json.dumps(str(o))
        if s == "":
            return "null"
        if not isinstance(o, Raw) and isinstance(o, str) and s[0] not in "'\"" \
                and re.search(r"[,\[\]{}#:]", s):
            return json.dumps(o)
        return s

    def comment(self) -> str:
        return self.rnd.choice(["", "", "", "", " # note", "  #: x", " # - y"])

    def leaf(self, v: Any, pad: str) -> str:
        if v == {} and isinstance(v, dict):
            return "{}"
        if v == [] and isinstance(v, list):
            return "[]"
        return self.scalar(v).replace("\n", "\n" + pad + "  ")

    def block(self, o: Any, indent: int) -> list[str]:
        rnd = self.rnd
        pad = " " * indent
        out: list[str] = []
        if rnd.random() < 0.03:
            out.append(pad + "# a comment line")
        if isinstance(o, dict):
            for k, v in o.items():
                key = self.key(k)
                if rnd.random() < 0.02:
                    key = "? " + key + "\n" + pad  # an explicit key
                if isinstance(v, (dict, list)) and v:
                    same = [n for n, a in self.anchors.items() if a == v and a is not v]
                    if same and rnd.random() < 0.6:
                        out.append(f"{pad}{key}: *{rnd.choice(same)}{self.comment()}")
                        continue
                    if isinstance(v, dict) and same and rnd.random() < 0.5:
                        out += [f"{pad}{key}:", f"{pad}  <<: *{rnd.choice(same)}"]
                        continue
                    r = rnd.random()
                    if r < 0.12:
                        out.append(f"{pad}{key}: {self.flow(v)}{self.comment()}")
                        continue
                    anchor = ""
                    if r < 0.3:
                        name = f"a{len(self.anchors)}"
                        self.anchors[name] = v
                        anchor = f" &{name}"
                    out.append(f"{pad}{key}:{anchor}{self.comment()}")
                    child = indent if isinstance(v, list) and rnd.random() < 0.4 else indent + 2
                    out += self.block(v, child)
                else:
                    val = self.leaf(v, pad)
                    tail = "" if val.startswith(("|", ">")) else self.comment()
                    out.append(f"{pad}{key}:{' ' if val else ''}{val}{tail}")
        else:
            for v in o:
                if isinstance(v, (dict, list)) and v:
                    if rnd.random() < 0.1:
                        out.append(f"{pad}- {self.flow(v)}")
                        continue
                    sub = self.block(v, indent + 2)
                    while sub[0].lstrip().startswith("#"):
                        out.append(sub.pop(0))
                    out.append(pad + "- " + sub[0][indent + 2:])
                    out += sub[1:]
                else:
                    out.append(f"{pad}- {self.leaf(v, pad)}".rstrip())
        return out


def stream(objs: list[dict[str, Any]], rnd: random.Random) -> str:
    """Documents as one YAML stream, with random separators and line ends."""
    parts = []
    for i, o in enumerate(objs):
        head = ""
        if i or rnd.random() < 0.3:
            head = rnd.choice(["---\n", "---\n", "--- # doc\n", "---\n# c\n", "...\n---\n"])
        parts.append(head + "\n".join(Writer(rnd).block(o, 0)) + "\n")
    text = "".join(parts)
    r = rnd.random()
    if r < 0.05:
        text = text.replace("\n", "\r\n")
    elif r < 0.08:
        text = "\ufeff" + text
    elif r < 0.12:
        text = text.rstrip("\n")
    return text


def generate(folder: str, seed: int, files: int = 60) -> None:
    """``files`` YAML files of one to three documents in ``folder``."""
    rnd = random.Random(seed)
    os.makedirs(folder, exist_ok=True)
    for i in range(files):
        objs = []
        for j in range(rnd.choice([1, 1, 2, 3])):
            o = copy.deepcopy(rnd.choice(manifests(f"obj{i}-{j}")))
            for _ in range(rnd.choice([0, 1, 1, 2])):
                mutate(o, rnd)
            objs.append(o)
        with open(os.path.join(folder, f"f{i:03d}.yaml"), "w", encoding="utf-8",
                  newline="") as fh:
            fh.write(stream(objs, rnd))
