"""Frameworks derived from the controls' references; custom framework files; selection."""

from __future__ import annotations

from pathlib import Path

import pytest

from scan_testing import DEPLOYMENT, write_controls
from socle.core.errors import UsageError
from socle.security.controls import load_controls
from socle.security.frameworks import BUNDLED_NAMES, bundled, resolve
from socle.security.runner import ScanOptions, scan_paths


def test_bundled_frameworks_derive_members_from_references() -> None:
    controls = load_controls()
    frameworks = bundled()
    assert tuple(frameworks) == BUNDLED_NAMES
    by_id = controls.by_id()
    for fw in frameworks.values():
        members = fw.members(controls)
        assert members, fw.name
        for c in members:
            assert c.references.get(fw.reference), (fw.name, c.id)
    # SCL-001 (privileged) is referenced by every one of them
    for fw in frameworks.values():
        assert by_id["SCL-001"] in fw.members(controls)
    # restricted contains every baseline control
    base = {c.id for c in frameworks["pss-baseline"].members(controls)}
    restricted = {c.id for c in frameworks["pss-restricted"].members(controls)}
    assert base <= restricted


def test_pss_levels(tmp_path: Path) -> None:
    controls = load_controls([str(write_controls(tmp_path))], bundled=False)
    fws = bundled()
    assert [c.id for c in fws["pss-baseline"].members(controls)] == ["T-001"]
    assert [c.id for c in fws["pss-restricted"].members(controls)] == ["T-001", "T-002"]
    assert [c.id for c in fws["cis"].members(controls)] == ["T-001", "T-002"]


def test_framework_flag_selects_controls(tmp_path: Path) -> None:
    ctl = write_controls(tmp_path / "controls")
    (tmp_path / "d.yaml").write_text(DEPLOYMENT.replace("runAsNonRoot: true", "x: 1"))
    opts = ScanOptions(controls_dirs=[str(ctl)], bundled=False, workers=1)
    assert {f.rule_id for f in scan_paths([str(tmp_path / "d.yaml")], opts).findings} == {
        "T-001", "T-002"}
    opts.frameworks = ["pss-baseline"]
    report = scan_paths([str(tmp_path / "d.yaml")], opts)
    assert {f.rule_id for f in report.findings} == {"T-001"}
    assert list(report.extra["scores"].to_dict()["frameworks"]) == ["pss-baseline"]


def test_custom_framework_file(tmp_path: Path) -> None:
    controls = load_controls([str(write_controls(tmp_path / "c"))], bundled=False)
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\ntitle: Mine\ncontrols: [test-non-root, T-004]\n"
                    "exclude: [T-004]\n")
    [fw] = resolve([], [str(path)], controls)
    assert fw.name == "mine" and [c.id for c in fw.members(controls)] == ["T-002"]
    path.write_text("name: mine\ncontrols: [T-404]\n")
    with pytest.raises(UsageError, match="T-404"):
        resolve([], [str(path)], controls)
    path.write_text("name: mine\nkontrols: [T-001]\n")
    with pytest.raises(UsageError) as err:
        resolve([], [str(path)], controls)
    assert err.value.line == 2


def test_unknown_framework_name() -> None:
    with pytest.raises(UsageError, match="unknown framework"):
        resolve(["nsa,soc3"], [], load_controls())
    assert [f.name for f in resolve(["all"], [], load_controls())] == list(BUNDLED_NAMES)
