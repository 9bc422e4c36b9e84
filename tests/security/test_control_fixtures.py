"""Every shipped control: its metadata is complete, its failing fixtures fail, its passing ones
pass, and every finding points at a line of the document."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from socle.formats.yaml import iter_documents
from socle.policy.engine import Engine, create_engine

CONTROLS = Path(__file__).resolve().parents[2] / "src" / "socle" / "security" / "controls"
LIB = CONTROLS / "lib"
SEVERITIES = {"critical", "high", "medium", "low"}
REFERENCE_KEYS = {"nsa", "cis", "mitre", "pss", "kubescape", "checkov", "trivy", "kube-linter",
                  "polaris", "kube-score"}
FOLDERS = sorted(p for p in CONTROLS.iterdir() if (p / "control.yaml").exists())


def _meta(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((folder / "control.yaml").read_text())
    return data


def _build(folder: Path) -> Engine:
    engine = create_engine("regorus", "v1")
    for lib in sorted(LIB.glob("*.rego")):
        engine.add_policy(str(lib), lib.read_text())
    engine.add_policy(str(folder / "policy.rego"), (folder / "policy.rego").read_text())
    meta = _meta(folder)
    inputs = dict(meta.get("inputs") or {})
    override = folder / "fixtures" / "inputs.yaml"  # inputs the fixtures are written for
    if override.exists():
        inputs.update(yaml.safe_load(override.read_text()) or {})
    engine.add_data({"socle": {"inputs": inputs}})
    return engine


@cache
def _engine(folder: Path) -> Engine:
    return _build(folder)


@cache
def _cross_engine(folder: Path, inventory_json: str) -> Engine:
    # data.socle.inventory can be set once per engine: one engine per fixture file
    engine = _build(folder)
    engine.add_data({"socle": {"inventory": json.loads(inventory_json)}})
    return engine


def _findings(folder: Path, obj: Any, inventory: list[Any]) -> list[dict[str, Any]]:
    engine = _engine(folder)
    if _meta(folder).get("crossResource"):
        engine = _cross_engine(folder, json.dumps(inventory, sort_keys=True, default=str))
    package = _meta(folder)["name"].replace("-", "_")
    value = engine.eval_query(f"data.socle.controls.{package}.deny", obj)
    out = value[0] if value else []
    return list(out or [])


def test_ids_and_names_are_unique() -> None:
    ids = [_meta(f)["id"] for f in FOLDERS]
    assert len(ids) == len(set(ids))
    for f in FOLDERS:
        assert _meta(f)["name"] == f.name


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_metadata_is_complete(folder: Path) -> None:
    meta = _meta(folder)
    for key in ("id", "name", "title", "severity", "baseScore", "category", "description",
                "remediation", "match", "references"):
        assert meta.get(key), f"{folder.name}: {key} missing"
    assert meta["severity"] in SEVERITIES
    assert 1 <= meta["baseScore"] <= 10
    assert set(meta["references"]) <= REFERENCE_KEYS, set(meta["references"]) - REFERENCE_KEYS
    assert meta["match"].get("kinds")
    source = (folder / "policy.rego").read_text()
    assert source.startswith(f"package socle.controls.{folder.name.replace('-', '_')}\n")
    # reading data.socle whole evaluates every control's rules (and is a cycle)
    assert not re.search(r"\bdata\.socle\b(?!\.)", source), "read data.socle.inputs.<name>"


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_failing_fixtures_fail_and_passing_ones_pass(folder: Path) -> None:
    for kind in ("fail", "pass"):
        path = folder / "fixtures" / f"{kind}.yaml"
        assert path.exists(), f"{folder.name}: fixtures/{kind}.yaml missing"
        docs = list(iter_documents(path.read_bytes(), str(path)))
        assert docs, f"{path} has no documents"
        inventory = [d.obj for d in docs]
        for doc in docs:
            assert doc.error is None, doc.error
            found = _findings(folder, doc.obj, inventory)
            where = f"{path}:{doc.line} ({doc.kind} {doc.resource.name})"
            if kind == "pass":
                assert found == [], f"{where} should pass: {found}"
                continue
            if doc.kind not in _meta(folder)["match"]["kinds"]:
                continue  # context for cross-resource controls
            assert found, f"{where} should fail"
            for f in found:
                assert isinstance(f.get("msg"), str) and f["msg"], f
                path_keys = f.get("path")
                assert isinstance(path_keys, list), f
                assert doc.line_of(path_keys) >= doc.line
