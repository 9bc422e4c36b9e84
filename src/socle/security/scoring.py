"""Scores computed as Kubescape documents them, so teams can compare.

* resource weight: 1.0, times ``replicas x 1.1`` when replicas > 1; a DaemonSet times its
  ``status.desiredNumberScheduled`` when the manifest carries it;
* control risk score: ``100 x sum(weight of failed) / sum(weight of all)``;
* framework (and overall) risk score: ``100 x sum_c base_c x failed_c / sum_c base_c x all_c``
  (weights summed per control), so severe controls and replicated workloads weigh more;
* control compliance score: 100 when no resource failed, else
  ``100 x passed / all`` (resources counted, not weighted);
* framework (and overall) compliance score: the plain mean of its controls' compliance scores.

socle's choices where Kubescape has no file-scan equivalent: excepted resources count as
passing (they were reviewed); a control no resource of the input is relevant to is
``irrelevant`` and left out of the means (a manifest scan has no "manual" controls).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from socle.security.controls import Control


def resource_weight(obj: Any) -> float:
    """Kubescape's resource weight for one resource."""
    if not isinstance(obj, dict):
        return 1.0
    weight = 1.0
    spec = obj.get("spec")
    replicas = spec.get("replicas") if isinstance(spec, dict) else None
    if isinstance(replicas, int) and not isinstance(replicas, bool) and replicas > 1:
        weight *= replicas * 1.1
    if obj.get("kind") == "DaemonSet":
        status = obj.get("status")
        scheduled = status.get("desiredNumberScheduled") if isinstance(status, dict) else None
        if isinstance(scheduled, int) and not isinstance(scheduled, bool) and scheduled > 0:
            weight *= scheduled
    return weight


@dataclass
class ControlTally:
    """What one control saw: resources (by key) with weights, and which failed/excepted."""

    weights: dict[Any, float] = field(default_factory=dict)
    failed: set[Any] = field(default_factory=set)
    excepted: set[Any] = field(default_factory=set)

    @property
    def status(self) -> str:
        if not self.weights:
            return "irrelevant"
        return "failed" if self.failed else "passed"

    def sums(self) -> tuple[float, float]:
        """The weight of every resource and of the failed ones (exactly rounded sums: the
        same whatever order the resources came in)."""
        return (math.fsum(self.weights.values()),
                math.fsum([self.weights[k] for k in self.failed]))

    def risk(self, sums: tuple[float, float]) -> float:
        """The failed resources' share of the weight, in percent (``sums``: :meth:`sums`)."""
        total, failed = sums
        if not total:
            return 0.0
        return 100.0 * failed / total

    def compliance(self) -> float:
        if not self.failed:
            return 100.0
        return 100.0 * (len(self.weights) - len(self.failed)) / len(self.weights)


@dataclass
class Scores:
    controls: dict[str, dict[str, Any]]
    frameworks: dict[str, dict[str, Any]]
    overall: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"overall": self.overall, "frameworks": self.frameworks,
                "controls": self.controls}


def _round(x: float) -> float:
    return round(x, 2)


def aggregate(tallies: dict[str, ControlTally], controls: Iterable[Control],
              sums: dict[str, tuple[float, float]]) -> dict[str, Any]:
    """Risk and compliance over a set of controls (a framework, or everything); ``sums``:
    each control's :meth:`ControlTally.sums`."""
    num = den = 0.0
    compliance: list[float] = []
    counts = {"passed": 0, "failed": 0, "irrelevant": 0}
    for c in controls:
        t = tallies.get(c.id) or ControlTally()
        counts[t.status] += 1
        all_w, failed_w = sums.get(c.id) or t.sums()
        num += c.base_score * failed_w
        den += c.base_score * all_w
        if t.status != "irrelevant":
            compliance.append(t.compliance())
    return {
        "riskScore": _round(100.0 * num / den) if den else 0.0,
        "complianceScore": _round(sum(compliance) / len(compliance)) if compliance else 100.0,
        "controls": counts,
    }


def compute(tallies: dict[str, ControlTally], controls: list[Control],
            frameworks: dict[str, list[Control]]) -> Scores:
    per_control: dict[str, dict[str, Any]] = {}
    sums: dict[str, tuple[float, float]] = {}  # each control's, once (frameworks share them)
    for c in controls:
        t = tallies.get(c.id) or ControlTally()
        sums[c.id] = t.sums()
        per_control[c.id] = {
            "name": c.name,
            "status": t.status,
            "baseScore": c.base_score,
            "severity": str(c.severity),
            "resources": {"all": len(t.weights), "failed": len(t.failed),
                          "excepted": len(t.excepted),
                          "passed": len(t.weights) - len(t.failed)},
            "riskScore": _round(t.risk(sums[c.id])),
            "complianceScore": _round(t.compliance()) if t.status != "irrelevant" else 100.0,
        }
    fw = {name: {**aggregate(tallies, members, sums), "members": [c.id for c in members]}
          for name, members in frameworks.items()}
    return Scores(per_control, fw, aggregate(tallies, controls, sums))
