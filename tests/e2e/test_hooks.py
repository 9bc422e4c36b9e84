"""The shipped pre-commit hooks (.pre-commit-hooks.yaml) select the files socle reads itself."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from socle.cli.main import COMMANDS
from socle.core.sources import discover
from socle_testing import ROOT

HOOKS: dict[str, dict[str, Any]] = {
    h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))}

TREE = ["apps/web.yaml", "apps/db.yml", "apps/list.json", "apps/.dotfile.yaml", "top.yaml",
        ".github/workflows/ci.yml", "apps/.cache/x.yaml", "socle.yaml", "apps/socle.yml",
        ".pre-commit-config.yaml", "README.md", "notes.txt"]


def test_validate_hook_passes_the_files_a_folder_run_reads(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    # pre-commit passes every changed file its `files` pattern matches and `exclude` does not
    # (searched in the path relative to the repository): the same files `socle validate .`
    # walks to, so a commit touching a CI workflow or .pre-commit-config.yaml does not fail
    # the hook
    for rel in TREE:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("a: 1\n", encoding="utf-8")
    hook = HOOKS["socle-validate"]
    files, exclude = re.compile(hook["files"]), re.compile(hook["exclude"])
    passed = sorted(p for p in TREE if files.search(p) and not exclude.search(p))
    monkeypatch.chdir(tmp_path)
    walked = sorted(s.path for s in discover(["."]))
    assert passed == walked == ["apps/db.yml", "apps/list.json", "apps/web.yaml", "top.yaml"]


def test_hooks_run_socle_commands() -> None:
    for hook in HOOKS.values():
        program, command = hook["entry"].split()[:2]
        assert program == "socle" and command in COMMANDS, hook["entry"]
        assert hook["language"] == "python" and hook["require_serial"] is True
    # the gate needs every manifest (cross-document checks): the whole repository, no names
    check = HOOKS["socle-check"]
    assert check["pass_filenames"] is False and check["args"] == ["."]
    assert os.path.basename(check["entry"]) == "socle check"


def test_check_hook_passes_in_a_repository_that_uses_it(tmp_path: Path) -> None:
    # the socle-check hook runs `socle check .` at the repository's root, where pre-commit's
    # own configuration (and CI workflows) live: YAML, but not manifests
    from socle_testing import run_socle

    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "config.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\n"
        "data:\n  LOG_LEVEL: info\n", encoding="utf-8")
    (tmp_path / ".pre-commit-config.yaml").write_text(
        "repos:\n  - repo: https://example.invalid/socle\n    rev: v0.1.0\n    hooks:\n"
        "      - id: socle-check\n", encoding="utf-8")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text("on: push\njobs: {}\n",
                                                               encoding="utf-8")
    check = HOOKS["socle-check"]
    r = run_socle(*check["entry"].split()[1:], *check["args"], "--summary", cwd=tmp_path)
    assert r.code == 0, r.out + r.err
    assert "1 resource found in 1 file" in r.out
