#!/usr/bin/env python3
"""A labelled corpus for the security controls: realistic manifests with known violations.

Every file is one application, as a team would keep it: a ServiceAccount, a ConfigMap, a
workload of one of every kind (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob,
Pod, ReplicationController), a Service, often an Ingress, a NetworkPolicy and a Role with its
RoleBinding. The baseline is hardened (non-root ids above 10000, read-only root filesystem,
ALL capabilities dropped, RuntimeDefault seccomp, digests, probes, resources, no token
mounted, its own service account). Then, with a seeded random choice, some documents get
violations planted on purpose, and ``<corpus>.json`` (next to the folder) records, for every
document, the names of the controls that must fire on it and nothing else:

    {"seed": ..., "files": N, "documents": [{"file": "a/x.yaml", "index": 2, "kind": ...,
      "name": ..., "expected": ["privileged-container", ...]}], "inputs": {...}}

Labels use control *names* (``privileged-container``); a test maps them to ids through the
loaded controls. ``VIOLATIONS`` lists every planted violation and the controls it must trip.

    python bench/scan/generate.py                      # bench/out/scan/corpus-full (2,000 files)
    python bench/scan/generate.py --files 40 --out /tmp/c --seed 7
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import random
import shutil
import sys
from collections.abc import Callable
from typing import Any

import yaml

try:
    from yaml import CSafeDumper as _Dumper
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "out", "scan")
SEED = 20261125
FULL = 2_000
# what the controls are told (socle.yaml scan.inputs / --input)
INPUTS = {"allowedRegistries": ["registry.example.com"]}

TEAMS = ["shop", "platform", "data", "growth", "identity", "logistics", "finance", "support"]
NOUNS = ["api", "billing", "cart", "catalog", "checkout", "gateway", "search", "orders",
         "payments", "profile", "ledger", "notifier", "reports", "inventory", "auth", "media"]
KINDS = ["Deployment", "Deployment", "Deployment", "StatefulSet", "DaemonSet", "Job",
         "CronJob", "Pod", "ReplicaSet", "ReplicationController"]
API = {"Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1",
       "ReplicaSet": "apps/v1", "Job": "batch/v1", "CronJob": "batch/v1", "Pod": "v1",
       "ReplicationController": "v1"}


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


# --- the hardened baseline ---------------------------------------------------------------------


def container(name: str, team: str, port: int) -> dict[str, Any]:
    image = f"registry.example.com/{team}/{name}:1.{port % 7}.{port % 5}"
    return {
        "name": name,
        "image": f"{image}@{digest(image)}",
        "imagePullPolicy": "Always",
        "ports": [{"name": "http", "containerPort": port}],
        "env": [{"name": "LOG_LEVEL", "value": "info"},
                {"name": "CONFIG_DIR", "value": "/etc/app"}],
        "envFrom": [{"configMapRef": {"name": f"{name}-config"}}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                      "limits": {"cpu": "500m", "memory": "256Mi"}},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
        "securityContext": {"allowPrivilegeEscalation": False, "privileged": False,
                            "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app", "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}],
    }


def pod_spec(name: str, team: str, port: int, kind: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "serviceAccountName": name,
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 20001, "runAsGroup": 20001,
                            "fsGroup": 20001, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container(name, team, port)],
        "volumes": [{"name": "config", "configMap": {"name": f"{name}-config"}},
                    {"name": "tmp", "emptyDir": {}}],
    }
    if kind in ("Job", "CronJob"):
        spec["restartPolicy"] = "OnFailure"
        for c in spec["containers"]:
            c.pop("readinessProbe"), c.pop("livenessProbe"), c.pop("ports")
    return spec


def workload(kind: str, name: str, team: str, port: int) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": team}
    meta = {"name": name, "namespace": team, "labels": labels}
    spec = pod_spec(name, team, port, kind)
    template = {"metadata": {"labels": dict(labels)}, "spec": spec}
    selector = {"matchLabels": {"app.kubernetes.io/name": name}}
    obj: dict[str, Any] = {"apiVersion": API[kind], "kind": kind, "metadata": meta}
    if kind == "Pod":
        obj["metadata"]["labels"] = dict(labels)
        obj["spec"] = spec
    elif kind == "CronJob":
        obj["spec"] = {"schedule": "0 3 * * *", "concurrencyPolicy": "Forbid",
                       "jobTemplate": {"spec": {"backoffLimit": 2, "template": template}}}
    elif kind == "Job":
        obj["spec"] = {"backoffLimit": 2, "template": template}
    elif kind == "ReplicationController":
        obj["spec"] = {"replicas": 2, "selector": {"app.kubernetes.io/name": name},
                       "template": template}
    else:
        obj["spec"] = {"selector": selector, "template": template}
        if kind != "DaemonSet":
            obj["spec"]["replicas"] = 3
        if kind == "StatefulSet":
            obj["spec"]["serviceName"] = name
    return obj


def support_documents(name: str, team: str, port: int, rng: random.Random
                      ) -> list[dict[str, Any]]:
    meta = {"name": name, "namespace": team}
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": dict(meta),
         "automountServiceAccountToken": False},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {**meta, "name": f"{name}-config"},
         "data": {"FEATURE_FLAGS": "search,recommendations", "CACHE_TTL": "300",
                  "UPSTREAM_URL": f"http://{name}-upstream.{team}.svc:8080"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": dict(meta),
         "spec": {"selector": {"app.kubernetes.io/name": name},
                  "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {**meta, "name": f"{name}-ingress"},
         "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": name}},
                  "policyTypes": ["Ingress", "Egress"],
                  "ingress": [{"from": [{"podSelector": {"matchLabels": {
                      "app.kubernetes.io/name": "gateway"}}}],
                      "ports": [{"port": port, "protocol": "TCP"}]}],
                  "egress": [{"to": [{"namespaceSelector": {}}],
                              "ports": [{"port": 53, "protocol": "UDP"}]}]}},
    ]
    if rng.random() < 0.6:
        docs.append({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": dict(meta),
            "spec": {"ingressClassName": "nginx",
                     "tls": [{"hosts": [f"{name}.{team}.example.com"],
                              "secretName": f"{name}-tls"}],
                     "rules": [{"host": f"{name}.{team}.example.com", "http": {"paths": [{
                         "path": "/", "pathType": "Prefix", "backend": {"service": {
                             "name": name, "port": {"name": "http"}}}}]}}]}})
    if rng.random() < 0.5:
        docs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                     "metadata": {**meta, "name": f"{name}-reader"},
                     "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                                "verbs": ["get", "watch"], "resourceNames": [f"{name}-config"]}]})
        docs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                     "metadata": {**meta, "name": f"{name}-reader"},
                     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                 "name": f"{name}-reader"},
                     "subjects": [{"kind": "ServiceAccount", "name": name,
                                   "namespace": team}]})
    return docs


# --- planted violations ------------------------------------------------------------------------
#
# Each takes the application's documents and changes one; it returns the index of the document
# changed and the control names that must fire on it. They are written to trip exactly those
# controls (a privileged container also allows escalation, as the API requires).

Docs = list[dict[str, Any]]
Plant = Callable[[Docs, int, random.Random], tuple[int, list[str]]]


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    if obj["kind"] == "Pod":
        spec: dict[str, Any] = obj["spec"]
    elif obj["kind"] == "CronJob":
        spec = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    else:
        spec = obj["spec"]["template"]["spec"]
    return spec


def _c(obj: dict[str, Any]) -> dict[str, Any]:
    c: dict[str, Any] = _spec(obj)["containers"][0]
    return c


def _sc(obj: dict[str, Any]) -> dict[str, Any]:
    sc: dict[str, Any] = _c(obj)["securityContext"]
    return sc


def _image(obj: dict[str, Any], image: str) -> None:
    _c(obj)["image"] = image


def _on_workload(change: Callable[[dict[str, Any]], None], *names: str) -> Plant:
    def plant(docs: Docs, w: int, rng: random.Random) -> tuple[int, list[str]]:
        change(docs[w])
        return w, list(names)
    return plant


def _privileged(o: dict[str, Any]) -> None:
    _sc(o)["privileged"] = True
    _sc(o)["allowPrivilegeEscalation"] = True


def _host_path(path: str, read_only: bool) -> Callable[[dict[str, Any]], None]:
    def change(o: dict[str, Any]) -> None:
        _spec(o)["volumes"].append({"name": "host", "hostPath": {"path": path}})
        mount: dict[str, Any] = {"name": "host", "mountPath": "/host"}
        if read_only:
            mount["readOnly"] = True
        _c(o)["volumeMounts"].append(mount)
    return change


def _set(path: list[str], value: Any, target: str = "container"
         ) -> Callable[[dict[str, Any]], None]:
    def change(o: dict[str, Any]) -> None:
        node = _c(o) if target == "container" else _spec(o)
        for key in path[:-1]:
            node = node.setdefault(key, {})
        if value is _DELETE:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
    return change


_DELETE = object()


def _both(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def change(o: dict[str, Any]) -> None:
        for c in changes:
            c(o)
    return change


def _mutable(tag: str) -> Callable[[dict[str, Any]], None]:
    def change(o: dict[str, Any]) -> None:
        image = _c(o)["image"].split("@")[0]
        _image(o, image.rsplit(":", 1)[0] + (f":{tag}" if tag else ""))
    return change


def _env(entry: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def change(o: dict[str, Any]) -> None:
        _c(o)["env"].append(entry)
    return change


def _find(docs: Docs, kind: str) -> int:
    return next(i for i, d in enumerate(docs) if d["kind"] == kind)


def _configmap_secret(docs: Docs, w: int, rng: random.Random) -> tuple[int, list[str]]:
    i = _find(docs, "ConfigMap")
    docs[i]["data"]["DB_PASSWORD"] = "Tr0ub4dor-" + str(rng.randrange(10**6, 10**7))
    return i, ["credentials-in-configmap"]


def _token_mounted(docs: Docs, w: int, rng: random.Random) -> tuple[int, list[str]]:
    # neither the pod nor its account opts out: the token is mounted
    _spec(docs[w]).pop("automountServiceAccountToken")
    docs[_find(docs, "ServiceAccount")].pop("automountServiceAccountToken")
    return w, ["service-account-token-automount"]


def _default_account(docs: Docs, w: int, rng: random.Random) -> tuple[int, list[str]]:
    # the namespace's default account, with its token mounted (no account opts out)
    _spec(docs[w]).pop("serviceAccountName")
    _spec(docs[w]).pop("automountServiceAccountToken", None)
    return w, ["default-service-account-used", "service-account-token-automount"]


def _default_sa_object(docs: Docs, w: int, rng: random.Random) -> tuple[int, list[str]]:
    team = docs[w]["metadata"]["namespace"]
    docs.append({"apiVersion": "v1", "kind": "ServiceAccount",
                 "metadata": {"name": "default", "namespace": team}})
    return len(docs) - 1, ["default-service-account-automount"]


def _bind_default(docs: Docs, w: int, rng: random.Random) -> tuple[int, list[str]]:
    team = docs[w]["metadata"]["namespace"]
    name = docs[w]["metadata"]["name"]
    docs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                 "metadata": {"name": f"{name}-default-view", "namespace": team},
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                             "name": "view"},
                 "subjects": [{"kind": "ServiceAccount", "name": "default",
                               "namespace": team}]})
    return len(docs) - 1, ["default-service-account-bound"]


VIOLATIONS: dict[str, Plant] = {
    "privileged": _on_workload(_privileged, "privileged-container",
                               "allow-privilege-escalation"),
    "escalation": _on_workload(_set(["securityContext", "allowPrivilegeEscalation"], _DELETE),
                               "allow-privilege-escalation"),
    "root-user": _on_workload(_set(["securityContext", "runAsUser"], 0), "run-as-root"),
    "non-root-off": _on_workload(_set(["securityContext", "runAsNonRoot"], False),
                                 "run-as-root"),
    "low-uid": _on_workload(_set(["securityContext", "runAsUser"], 1000),
                            "low-user-group-id"),
    "root-group": _on_workload(_set(["securityContext", "runAsGroup"], 0, "pod"),
                               "low-user-group-id"),
    "writable-fs": _on_workload(_set(["securityContext", "readOnlyRootFilesystem"], False),
                                "writable-root-filesystem"),
    "host-network": _on_workload(_set(["hostNetwork"], True, "pod"), "host-network"),
    "host-pid": _on_workload(_set(["hostPID"], True, "pod"), "host-pid"),
    "host-ipc": _on_workload(_set(["hostIPC"], True, "pod"), "host-ipc"),
    "host-port": _on_workload(_set(["ports"], [{"name": "http", "containerPort": 8080,
                                                "hostPort": 8080}]), "host-port"),
    "host-path-ro": _on_workload(_host_path("/var/log", True), "host-path-volume"),
    "host-path-rw": _on_workload(_host_path("/var/lib/data", False), "host-path-volume",
                                 "writable-host-path"),
    "runtime-socket": _on_workload(_host_path("/var/run/docker.sock", True),
                                   "host-path-volume", "container-runtime-socket"),
    "sys-admin": _on_workload(_set(["securityContext", "capabilities", "add"], ["SYS_ADMIN"]),
                              "dangerous-capabilities"),
    "drop-some": _on_workload(_set(["securityContext", "capabilities", "drop"], ["NET_RAW"]),
                              "capabilities-not-dropped"),
    "no-drop": _on_workload(_set(["securityContext", "capabilities"], _DELETE),
                            "capabilities-not-dropped", "net-raw-capability"),
    "seccomp-unset": _on_workload(_set(["securityContext", "seccompProfile"], _DELETE, "pod"),
                                  "seccomp-profile-missing"),
    "seccomp-unconfined": _on_workload(
        _set(["securityContext", "seccompProfile"], {"type": "Unconfined"}, "pod"),
        "seccomp-unconfined"),
    "apparmor-unconfined": _on_workload(
        _set(["securityContext", "appArmorProfile"], {"type": "Unconfined"}),
        "apparmor-unconfined"),
    "latest-tag": _on_workload(_mutable("latest"), "image-latest-tag",
                               "image-not-pinned-by-digest"),
    "tag-only": _on_workload(_mutable("2.4.1"), "image-not-pinned-by-digest"),
    "pull-if-not-present": _on_workload(
        _both(_mutable("2.4.1"), _set(["imagePullPolicy"], "IfNotPresent")),
        "image-not-pinned-by-digest", "image-pull-policy-not-always"),
    "public-registry": _on_workload(
        lambda o: _image(o, f"nginx:1.27.3@{digest('nginx')}"), "image-registry-not-allowed"),
    "frozen-registry": _on_workload(
        lambda o: _image(o, f"k8s.gcr.io/pause:3.9@{digest('pause')}"),
        "deprecated-image-registry", "image-registry-not-allowed"),
    "secret-env": _on_workload(_env({"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {
        "name": "api", "key": "token"}}}), "secret-in-env"),
    "literal-password": _on_workload(_env({"name": "DB_PASSWORD", "value": "Tr0ub4dor&3x"}),
                                     "credentials-in-env"),
    "default-account": _default_account,
    "token-mounted": _token_mounted,
    "configmap-password": _configmap_secret,
    "default-sa-automount": _default_sa_object,
    "bind-default-sa": _bind_default,
}


# violations that change the same field: at most one of each group per application
CONFLICTS = [
    {"latest-tag", "tag-only", "pull-if-not-present", "public-registry", "frozen-registry"},
    {"sys-admin", "drop-some", "no-drop"},
    {"root-user", "low-uid"},
    {"seccomp-unset", "seccomp-unconfined"},
    {"host-path-ro", "host-path-rw", "runtime-socket"},
    {"privileged", "escalation"},
]
_GROUP_OF = {key: n for n, group in enumerate(CONFLICTS) for key in group}


def control_names() -> list[str]:
    """Every control name some planted violation trips (what the corpus is labelled for)."""
    names: set[str] = set()
    rng = random.Random(0)
    for plant in VIOLATIONS.values():
        docs = [workload("Deployment", "x", "t", 8080), *support_documents("x", "t", 8080, rng)]
        _, got = plant(docs, 0, rng)
        names.update(got)
    return sorted(names)


# --- writing ---------------------------------------------------------------------------------


class _Dump(_Dumper):  # type: ignore[misc,valid-type]
    pass


def manifest_path(corpus_dir: str) -> str:
    return os.path.normpath(corpus_dir) + ".json"


def generate(out: str, files: int = FULL, seed: int = SEED, rate: float = 0.35
             ) -> dict[str, Any]:
    """Write ``files`` application files under ``out`` (one folder per team) and the labels."""
    rng = random.Random(seed)
    if os.path.isdir(out):
        shutil.rmtree(out)
    labels: list[dict[str, Any]] = []
    planted: dict[str, int] = {}
    keys = sorted(VIOLATIONS)
    for n in range(files):
        team = TEAMS[n % len(TEAMS)]
        name = f"{NOUNS[rng.randrange(len(NOUNS))]}-{n:04d}"
        kind = KINDS[rng.randrange(len(KINDS))]
        port = 8000 + rng.randrange(1000)
        docs = [workload(kind, name, team, port), *support_documents(name, team, port, rng)]
        expected: dict[int, set[str]] = {}
        if rng.random() < rate:
            chosen: list[str] = []
            for key in rng.sample(keys, rng.choice((1, 1, 1, 2, 3))):
                group = _GROUP_OF.get(key)
                if group is not None and any(_GROUP_OF.get(k) == group for k in chosen):
                    continue  # two changes of the same field: the last would hide the first
                chosen.append(key)
                i, names = VIOLATIONS[key](docs, 0, rng)
                expected.setdefault(i, set()).update(names)
                planted[key] = planted.get(key, 0) + 1
        rel = os.path.join(team, f"{name}.yaml")
        path = os.path.join(out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(f"# {name}: {kind} and what it needs\n")
            fh.write(yaml.dump_all(docs, Dumper=_Dump, sort_keys=False, width=100))
        for i, d in enumerate(docs):
            labels.append({"file": rel, "index": i, "kind": d["kind"],
                           "name": d["metadata"]["name"],
                           "expected": sorted(expected.get(i, ()))})
    manifest = {"seed": seed, "files": files, "rate": rate, "inputs": copy.deepcopy(INPUTS),
                "controls": control_names(), "planted": planted, "documents": labels}
    with open(manifest_path(out), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=1)
    return manifest


def load_manifest(out: str) -> dict[str, Any] | None:
    try:
        with open(manifest_path(out), encoding="utf-8") as fh:
            data: dict[str, Any] = json.load(fh)
            return data
    except (OSError, ValueError):
        return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--files", type=int, default=FULL)
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--rate", type=float, default=0.35,
                   help="share of applications with planted violations")
    p.add_argument("--out", default=os.path.join(OUT, "corpus-full"))
    args = p.parse_args(argv)
    m = generate(args.out, args.files, args.seed, args.rate)
    bad = sum(1 for d in m["documents"] if d["expected"])
    print(f"{args.out}: {args.files} files, {len(m['documents'])} documents, {bad} with "
          f"planted violations", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
