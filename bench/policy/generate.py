#!/usr/bin/env python3
"""The corpus of the policy benchmark: the validate benchmark's corpus, with policy problems.

The documents are those of ``bench/validate/generate.py`` (same seed, same sizes: 10,000
documents in 1,000 files, YAML and ``kind: List`` JSON). That corpus is written to pass
Kubernetes' schemas, so it trips few of the policies in ``bench/policy/policy``. This script
plants, deterministically and on a few percent of the objects, what those policies look for:

* Deployments: an image on ``:latest`` or without a tag, a privileged container, a hostPath
  volume, pod-level ``runAsNonRoot`` (which clears the sidecar's finding), a missing resource
  limit or probe, the labels and annotations the policies' exception rules read;
* Services of type ``LoadBalancer`` or ``NodePort``;
* objects without a required label.

The expected findings are not recorded: the benchmark compares socle's findings with
conftest's, not with a list.

    python bench/policy/generate.py                 # bench/out/policy/corpus-full
    python bench/policy/generate.py --small         # 300 documents in 30 files
    python bench/policy/generate.py --docs 2000 --files 200 --out /tmp/corpus
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from collections import Counter
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
OUT = os.path.join(BENCH, "out", "policy")
SEED = 20240611
VERSION = 1  # bump when the planted problems change: a stored corpus is then rewritten
RATE = 0.04  # share of Deployments (Services, objects) given each problem


if BENCH not in sys.path:
    sys.path.insert(0, BENCH)
from benchload import load  # noqa: E402  (bench/ is no package)

vgen = load("socle_bench_generate", os.path.join(BENCH, "validate", "generate.py"))
FULL, SMALL = vgen.FULL, vgen.SMALL


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj.get("spec", {}).get("template", {}).get("spec", {})
    out: list[dict[str, Any]] = spec.get("containers", [])
    return out if isinstance(out, list) else []


def _latest(obj: dict[str, Any], rnd: random.Random) -> None:
    c = _containers(obj)[0]
    c["image"] = c["image"].rsplit(":", 1)[0] + (":latest" if rnd.random() < 0.5 else "")


def _privileged(obj: dict[str, Any], rnd: random.Random) -> None:
    cs = _containers(obj)
    cs[-1].setdefault("securityContext", {})["privileged"] = True


def _host_path(obj: dict[str, Any], rnd: random.Random) -> None:
    spec = obj["spec"]["template"]["spec"]
    path = rnd.choice(["/var/run/docker.sock", "/var/log", "/etc/ssl/certs"])
    spec.setdefault("volumes", []).append({"name": "host", "hostPath": {"path": path}})


def _pod_non_root(obj: dict[str, Any], rnd: random.Random) -> None:
    obj["spec"]["template"]["spec"].setdefault("securityContext", {})["runAsNonRoot"] = True


def _no_memory_limit(obj: dict[str, Any], rnd: random.Random) -> None:
    _containers(obj)[0].get("resources", {}).get("limits", {}).pop("memory", None)


def _no_probe(obj: dict[str, Any], rnd: random.Random) -> None:
    _containers(obj)[0].pop(rnd.choice(["livenessProbe", "readinessProbe"]), None)


def _sidecars_reviewed(obj: dict[str, Any], rnd: random.Random) -> None:
    obj["metadata"].setdefault("labels", {})["policy.example.com/sidecars-reviewed"] = "true"


def _allow_root(obj: dict[str, Any], rnd: random.Random) -> None:
    obj["metadata"].setdefault("annotations", {})["policy.example.com/allow-root"] = "true"


def _single_replica(obj: dict[str, Any], rnd: random.Random) -> None:
    if isinstance(obj.get("spec", {}).get("replicas"), int):
        obj["spec"]["replicas"] = 1


def _exposed(obj: dict[str, Any], rnd: random.Random) -> None:
    obj["spec"]["type"] = rnd.choice(["LoadBalancer", "NodePort"])


def _no_label(obj: dict[str, Any], rnd: random.Random) -> None:
    labels = obj.get("metadata", {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(rnd.choice(["app.kubernetes.io/part-of", "app.kubernetes.io/name"]), None)


# kind -> [(name, share, mutation)]
PLANTS: dict[str, list[tuple[str, float, Any]]] = {
    "Deployment": [("latest-tag", RATE, _latest), ("privileged", RATE / 2, _privileged),
                   ("host-path", RATE / 2, _host_path), ("pod-non-root", 0.3, _pod_non_root),
                   ("no-memory-limit", RATE, _no_memory_limit), ("no-probe", RATE, _no_probe),
                   ("sidecars-reviewed", 0.1, _sidecars_reviewed),
                   ("allow-root", RATE / 2, _allow_root),
                   ("single-replica", RATE, _single_replica)],
    "Service": [("exposed", RATE, _exposed)],
    "*": [("no-label", RATE / 4, _no_label)],
}


def plant(corpus: Any, seed: int = SEED) -> Counter[str]:
    """Applies :data:`PLANTS` to the corpus's documents in place; returns how often each."""
    rnd = random.Random(seed + 1)
    done: Counter[str] = Counter()
    for _rel, docs, _fmt in corpus.files:
        for doc in docs:
            obj = doc.obj
            kind = obj.get("kind")
            if kind == "CustomResourceDefinition" or not isinstance(obj.get("metadata"), dict):
                continue
            for name, share, fn in PLANTS.get(kind, []) + PLANTS["*"]:
                if rnd.random() < share:
                    try:
                        fn(obj, rnd)
                    except (KeyError, IndexError, TypeError, AttributeError):
                        continue  # a schema mutation left no room for this one
                    done[name] += 1
    return done


def manifest_path(corpus_dir: str) -> str:
    return os.path.normpath(corpus_dir) + ".json"


def load_manifest(corpus_dir: str) -> dict[str, Any] | None:
    try:
        with open(manifest_path(corpus_dir), encoding="utf-8") as fh:
            manifest: dict[str, Any] = json.load(fh)
            return manifest
    except (OSError, ValueError):
        return None


def generate(out_dir: str, n_docs: int, n_files: int, seed: int = SEED) -> dict[str, Any]:
    corpus = vgen.build(n_docs, n_files, seed)
    planted = plant(corpus, seed)
    manifest: dict[str, Any] = vgen.write(corpus, out_dir, seed)
    manifest["generator"] = "bench/policy/generate.py"
    manifest["version"] = VERSION
    manifest["planted"] = dict(sorted(planted.items()))
    with open(manifest_path(out_dir), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=0)
    return manifest


def prepare(out: str, small: bool, regenerate: bool = False,
            seed: int = SEED) -> tuple[str, dict[str, Any]]:
    """The corpus folder under ``out`` (written unless one with the same seed and size is
    there) and its manifest."""
    n_docs, n_files = SMALL if small else FULL
    corpus = os.path.join(out, "corpus-small" if small else "corpus-full")
    m = load_manifest(corpus)
    if (regenerate or m is None or m.get("generator") != "bench/policy/generate.py"
            or m.get("version") != VERSION
            or m.get("seed") != seed or m.get("documents") != n_docs
            or m.get("files") != n_files or not os.path.isdir(corpus)):
        print(f"generating {corpus} ...", flush=True)
        m = generate(corpus, n_docs, n_files, seed)
    return corpus, m


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
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
    print(f"{out}: {m['documents']} documents in {m['files']} files, "
          f"{m['bytes'] / 1e6:.1f} MB; planted: "
          + ", ".join(f"{k} {v}" for k, v in m["planted"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
