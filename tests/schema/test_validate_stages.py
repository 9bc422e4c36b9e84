"""bench/validate/stages.py, the per-stage timing of ``socle validate``: it reaches into
socle's internals (the YAML gate, the typing walk), so a change there must keep it running."""

from __future__ import annotations

from pathlib import Path

import pytest

from socle_testing import ROOT, load_module

stages_py = load_module("socle_bench_validate_stages", ROOT / "bench" / "validate" / "stages.py")


def test_every_stage_is_timed_on_a_generated_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    n_docs, n_files = stages_py.run.generate.SMALL
    stages_py.run.generate.generate(str(corpus), n_docs, n_files)
    timed, documents = stages_py.stages(str(corpus), 1)
    names = [name for name, _, _ in timed]
    assert names[0] == "read the files" and len(names) == 11 == len(set(names))
    assert all(seconds > 0 for _, seconds, _ in timed)
    native = {name.split(": ", 1)[1] for name, _, is_native in timed if is_native}
    assert native == {"rapidyaml parse", "rapidyaml JSON emit", "orjson loads",
                      "jsonschema-rs is_valid"}
    # one Document per YAML document and per JSON file (a List is one, its items inside)
    assert 0.8 * n_docs < documents <= n_docs


def test_without_a_corpus_it_says_to_run_the_benchmark_first(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert stages_py.main(["--out", str(tmp_path)]) == 2
    assert "run bench/validate/run.py first" in capsys.readouterr().err
