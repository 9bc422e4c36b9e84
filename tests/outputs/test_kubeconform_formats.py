"""socle's junit and tap reports have kubeconform v0.7.0's shape for the same manifests.

Offline: kubeconform reads the schemas ``socle schemas export`` writes. Skipped when no
kubeconform binary is found ($KUBECONFORM, PATH, $(go env GOPATH)/bin).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from socle_testing import ROOT, load_module, run_socle

pytestmark = pytest.mark.kubeconform

MANIFESTS = {
    "apps/web.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: "3"
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.27"}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {ports: [{port: 80}]}
""",
    "apps/config.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: fast}
---
apiVersion: v1
kind: Secret
metadata: {name: token}
stringData: {key: value}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: no-schema}
""",
}



bench = load_module("socle_bench_validate_run", ROOT / "bench" / "validate" / "run.py")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, Path]:
    kc = bench.find_kubeconform()
    if kc is None:
        pytest.skip("kubeconform not built (go install github.com/yannh/kubeconform/cmd/"
                    "kubeconform@v0.7.0, or set $KUBECONFORM)")
    schemas = tmp_path_factory.mktemp("schemas")
    r = run_socle("schemas", "export", "--kubernetes-version", bench.K8S_VERSION,
                  "--dir", str(schemas))
    assert r.code == 0, r.err
    work = tmp_path_factory.mktemp("work")
    for name, text in MANIFESTS.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text, encoding="utf-8")
    return str(kc), str(schemas), work


def _both(setup: tuple[str, str, Path], output: str) -> tuple[str, str]:
    kc, schemas, work = setup
    flags = ["-skip", "Secret", "-kubernetes-version", bench.K8S_VERSION]
    theirs = subprocess.run(
        [kc, *flags, "-output", output, "-schema-location",
         os.path.join(schemas, bench.STANDALONE), "apps"],
        cwd=work, capture_output=True, text=True, timeout=120, check=False)
    assert theirs.returncode == 1, theirs.stderr
    ours = run_socle("validate", *flags, "--no-extra-checks", "-o", output, "apps", cwd=work)
    assert ours.code == 2, ours.err  # the Widget has no schema: an input error
    return theirs.stdout, ours.out


def _outcome(case: ET.Element) -> str:
    for tag in ("failure", "error", "skipped"):
        if case.find(tag) is not None:
            return tag
    return "passed"


def _junit_shape(text: str) -> tuple[dict[str, str], dict[str, list[tuple[str, str, str]]]]:
    root = ET.fromstring(text)
    totals = {k: root.attrib[k] for k in ("tests", "failures", "errors", "disabled")}
    suites = {s.attrib["name"]: sorted((c.attrib["name"], c.attrib["classname"], _outcome(c))
                                       for c in s.findall("testcase"))
              for s in root.findall("testsuite")}
    return totals, suites


def test_junit_has_kubeconforms_shape(setup: tuple[str, str, Path]) -> None:
    theirs, ours = _both(setup, "junit")
    their_totals, their_suites = _junit_shape(theirs)
    our_totals, our_suites = _junit_shape(ours)
    assert our_suites == their_suites
    assert our_suites["apps/web.yaml"] == [("shop/web", "Deployment@apps/v1", "failure"),
                                           ("shop/web", "Service@v1", "passed")]
    assert our_totals == their_totals == {"tests": "5", "failures": "1", "errors": "1",
                                          "disabled": "1"}


TAP_LINE = re.compile(r"^(ok|not ok) \d+ - (\S+)(.*)$")


def _tap_shape(text: str) -> tuple[Counter[tuple[str, str, bool]], str]:
    lines = text.splitlines()
    assert lines[0] == "TAP version 13"
    verdicts: Counter[tuple[str, str, bool]] = Counter()
    for line in lines:
        m = TAP_LINE.match(line)
        if m:
            verdicts[(m.group(1), m.group(2), "# skip" in m.group(3).lower())] += 1
    plan = next(line for line in lines if line.startswith("1.."))
    return verdicts, plan


def test_tap_has_kubeconforms_verdicts(setup: tuple[str, str, Path]) -> None:
    theirs, ours = _both(setup, "tap")
    their_verdicts, their_plan = _tap_shape(theirs)
    our_verdicts, our_plan = _tap_shape(ours)
    # kubeconform writes "file:" on lines of documents it could not check; the file is the same
    cleaned = Counter({(v, f.rstrip(":"), s): n for (v, f, s), n in their_verdicts.items()})
    assert our_verdicts == cleaned
    assert our_plan == their_plan == "1..5"


def _json_shape(text: str) -> tuple[list[tuple[str, ...]], dict[str, list[str]], Any]:
    data = json.loads(text)
    entries = sorted((r["filename"], r["kind"], r["name"], r["version"], r["status"])
                     for r in data["resources"])
    paths = {f"{r['filename']}/{r['name']}": sorted(e["path"] for e in r["validationErrors"])
             for r in data["resources"] if "validationErrors" in r}
    return entries, paths, data.get("summary")


@pytest.mark.parametrize("flags", [[], ["-verbose", "-summary"]])
def test_kubeconform_output_has_kubeconforms_json_shape(setup: tuple[str, str, Path],
                                                        flags: list[str]) -> None:
    # `-o kubeconform`: kubeconform's `-output json` keys and statuses, for jq scripts
    kc, schemas, work = setup
    base = ["-skip", "Secret", "-kubernetes-version", bench.K8S_VERSION, *flags]
    theirs = subprocess.run(
        [kc, *base, "-output", "json", "-schema-location",
         os.path.join(schemas, bench.STANDALONE), "apps"],
        cwd=work, capture_output=True, text=True, timeout=120, check=False)
    ours = run_socle("validate", *base, "--no-extra-checks", "-o", "kubeconform", "apps",
                     cwd=work)
    assert (ours.code, theirs.returncode) == (2, 1), ours.err
    their_entries, their_paths, their_summary = _json_shape(theirs.stdout)
    our_entries, our_paths, our_summary = _json_shape(ours.out)
    assert our_entries == their_entries
    # the same resources carry validationErrors; socle's are the findings at their own paths,
    # kubeconform's the schema's top-level failure ("/spec": "validation failed")
    assert our_paths.keys() == their_paths.keys() == {"apps/web.yaml/web"}
    assert our_paths["apps/web.yaml/web"] == ["/spec/replicas"]
    assert our_summary == their_summary
    assert ("statusValid" in {e[4] for e in our_entries}) == bool(flags)
