"""Scores on a small input, computed by hand with Kubescape's formulas."""

from __future__ import annotations

from pathlib import Path

import pytest

from scan_testing import write_controls
from socle.security.runner import ScanOptions, scan_paths
from socle.security.scoring import resource_weight

# T-001 (privileged, baseScore 8) and T-002 (may run as root, baseScore 4) on three workloads:
#   big   Deployment, replicas 3 -> weight 3 x 1.1 = 3.3: privileged, runAsNonRoot set
#   small Deployment, replicas 1 -> weight 1:            clean
#   pod   Pod                    -> weight 1:            privileged, may run as root
INPUT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: big}
spec:
  replicas: 3
  template:
    spec:
      containers:
        - {name: a, image: x, securityContext: {privileged: true, runAsNonRoot: true}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: small}
spec:
  replicas: 1
  template:
    spec:
      containers:
        - {name: a, image: x, securityContext: {runAsNonRoot: true}}
---
apiVersion: v1
kind: Pod
metadata: {name: pod}
spec:
  containers:
    - {name: a, image: x, securityContext: {privileged: true}}
"""


def test_weights() -> None:
    assert resource_weight({"kind": "Deployment", "spec": {"replicas": 3}}) == pytest.approx(3.3)
    assert resource_weight({"kind": "Deployment", "spec": {"replicas": 1}}) == 1.0
    assert resource_weight({"kind": "Deployment", "spec": {}}) == 1.0
    ds = {"kind": "DaemonSet", "spec": {}, "status": {"desiredNumberScheduled": 5}}
    assert resource_weight(ds) == 5.0


def test_scores_by_hand(tmp_path: Path) -> None:
    ctl = write_controls(tmp_path / "controls", ["test-privileged", "test-non-root"])
    (tmp_path / "in.yaml").write_text(INPUT)
    report = scan_paths([str(tmp_path / "in.yaml")],
                        ScanOptions(controls_dirs=[str(ctl)], bundled=False, workers=1))
    s = report.extra["scores"].to_dict()
    t1, t2 = s["controls"]["T-001"], s["controls"]["T-002"]
    # T-001 fails big (3.3) and pod (1) of 5.3
    assert t1["riskScore"] == pytest.approx(100 * 4.3 / 5.3, abs=0.01)
    assert t1["complianceScore"] == pytest.approx(100 / 3, abs=0.01)
    assert t1["resources"] == {"all": 3, "failed": 2, "excepted": 0, "passed": 1}
    # T-002 fails pod (1) of 5.3
    assert t2["riskScore"] == pytest.approx(100 * 1 / 5.3, abs=0.01)
    assert t2["complianceScore"] == pytest.approx(200 / 3, abs=0.01)
    # overall: weighted by baseScore, compliance a plain mean
    risk = 100 * (8 * 4.3 + 4 * 1) / (8 * 5.3 + 4 * 5.3)
    assert s["overall"]["riskScore"] == pytest.approx(risk, abs=0.01)
    assert s["overall"]["complianceScore"] == pytest.approx(50.0, abs=0.01)
    # pss-baseline holds T-001 only; pss-restricted holds both
    assert s["frameworks"]["pss-baseline"]["members"] == ["T-001"]
    assert s["frameworks"]["pss-baseline"]["complianceScore"] == pytest.approx(33.33, abs=0.01)
    assert s["frameworks"]["pss-restricted"]["riskScore"] == pytest.approx(risk, abs=0.01)


def test_clean_input_scores_full_compliance(tmp_path: Path) -> None:
    ctl = write_controls(tmp_path / "controls", ["test-privileged"])
    (tmp_path / "in.yaml").write_text(INPUT.split("---\n")[1])
    report = scan_paths([str(tmp_path / "in.yaml")],
                        ScanOptions(controls_dirs=[str(ctl)], bundled=False, workers=1))
    s = report.extra["scores"].to_dict()
    assert s["overall"] == {"riskScore": 0.0, "complianceScore": 100.0,
                            "controls": {"passed": 1, "failed": 0, "irrelevant": 0}}


def test_scores_from_records_match_a_per_control_tally() -> None:
    # score() walks the relevant controls of each resource's kind once and only the controls
    # a resource failed or was excepted by: the same tallies as asking every control
    import random

    from socle.security.runner import Record, score, select_controls
    from socle.security.scoring import ControlTally, compute

    selection = select_controls(ScanOptions())
    controls = selection.selected.controls
    kinds = ["Deployment", "Service", "ConfigMap", "Role", "Pod", "Unknown"]
    rng = random.Random(7)
    ids = [c.id for c in controls]
    records = []
    for i in range(300):
        rec = Record(("f.yaml", i, ()), rng.choice(kinds), rng.choice([1.0, 2.2, 3.3]))
        rec.failed = set(rng.sample(ids, 5))
        rec.excepted = set(rng.sample(ids, 2))
        records.append(rec)
    tallies = {c.id: ControlTally() for c in controls}
    for rec in records:
        for c in controls:
            if c.applies_to(rec.kind):
                t = tallies[c.id]
                t.weights[rec.key] = rec.weight
                if c.id in rec.failed:
                    t.failed.add(rec.key)
                if c.id in rec.excepted:
                    t.excepted.add(rec.key)
    frameworks = {fw.name: fw.members(selection.selected) for fw in selection.reported}
    want = compute(tallies, controls, frameworks).to_dict()
    assert score(selection, records).to_dict() == want
    assert want["overall"]["controls"]["failed"] > 0
