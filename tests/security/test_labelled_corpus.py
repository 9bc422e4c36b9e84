"""socle scan against a labelled corpus: every planted violation found, nothing else reported.

bench/scan/generate.py writes realistic applications (every workload kind, Services, Ingresses,
NetworkPolicies, RBAC, ConfigMaps, ServiceAccounts) with violations planted on purpose and the
controls each document must trip recorded next to the corpus. The scan runs the controls the
corpus is labelled for (those that exist), and each control must report exactly the labelled
documents: no miss, no false positive.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> Any:
    name = "socle_bench_scan_generate"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "scan" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("labelled") / "corpus"
    manifest = _generator().generate(str(out), files=90, seed=4242, rate=0.9)
    return out, manifest


@pytest.fixture(scope="module")
def scanned(corpus: tuple[Path, dict[str, Any]]) -> tuple[dict[str, Any], Any, dict[str, str]]:
    from socle.security.controls import load_controls
    from socle.security.runner import ScanOptions, scan_paths

    out, manifest = corpus
    by_name = {c.name: c.id for c in load_controls().controls}
    present = {n: by_name[n] for n in manifest["controls"] if n in by_name}
    if not present:
        pytest.skip("none of the labelled controls is bundled yet")
    options = ScanOptions(include=sorted(present.values()), inputs=manifest["inputs"],
                          workers=1)
    report = scan_paths([str(out)], options)
    return manifest, report, present


def test_every_kind_is_in_the_corpus(corpus: tuple[Path, dict[str, Any]]) -> None:
    _, manifest = corpus
    kinds = {d["kind"] for d in manifest["documents"]}
    assert {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod",
            "ReplicationController", "Service", "Ingress", "NetworkPolicy", "ConfigMap",
            "ServiceAccount", "Role", "RoleBinding"} <= kinds
    assert set(manifest["planted"]) == set(_generator().VIOLATIONS)


def test_generation_is_deterministic(tmp_path: Path) -> None:
    gen = _generator()
    a = gen.generate(str(tmp_path / "a"), files=12, seed=9, rate=0.8)
    b = gen.generate(str(tmp_path / "b"), files=12, seed=9, rate=0.8)
    assert a["documents"] == b["documents"]
    assert (tmp_path / "a" / a["documents"][0]["file"]).read_bytes() == \
        (tmp_path / "b" / b["documents"][0]["file"]).read_bytes()


def test_the_scan_reads_the_corpus_without_errors(
        scanned: tuple[dict[str, Any], Any, dict[str, str]]) -> None:
    _, report, _ = scanned
    problems = [f"{f.location()} {f.rule_id}: {f.message}" for f in report.findings
                if f.source == "input"]
    assert report.errors == 0 and not problems, "\n".join(problems[:20])


def test_each_control_finds_exactly_the_planted_violations(
        scanned: tuple[dict[str, Any], Any, dict[str, str]],
        corpus: tuple[Path, dict[str, Any]]) -> None:
    manifest, report, present = scanned
    out, _ = corpus
    ids = set(present.values())
    expected: dict[str, set[tuple[str, int]]] = {cid: set() for cid in ids}
    for d in manifest["documents"]:
        for name in d["expected"]:
            if name in present:
                expected[present[name]].add((d["file"], d["index"]))
    found: dict[str, set[tuple[str, int]]] = {cid: set() for cid in ids}
    for f in report.findings:
        if f.rule_id in ids:
            found[f.rule_id].add((str(Path(f.file).relative_to(out)), f.document_index))
    problems = []
    for name, cid in sorted(present.items()):
        missed = sorted(expected[cid] - found[cid])
        extra = sorted(found[cid] - expected[cid])
        if missed:
            problems.append(f"{cid} {name}: missed {len(missed)}, e.g. {missed[:3]}")
        if extra:
            problems.append(f"{cid} {name}: {len(extra)} false positives, e.g. {extra[:3]}")
    assert not problems, "\n".join(problems)
    # the corpus exercises every present control
    assert all(expected[cid] for cid in ids), sorted(c for c in ids if not expected[c])
