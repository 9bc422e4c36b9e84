"""The scan runner: controls on documents, lines, kinds, Lists, cross-resource, inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scan_testing import DEPLOYMENT, write_controls
from socle.core.errors import UsageError
from socle.policy.engine import available
from socle.security.runner import ScanOptions, scan_paths

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "src" / "socle" / "security" / "controls"


def _scan(tmp_path: Path, files: dict[str, str], **kw: object) -> object:
    ctl = write_controls(tmp_path / "controls")
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    for name, text in files.items():
        (src / name).write_text(text)
    opts = ScanOptions(controls_dirs=[str(ctl)], bundled=False, workers=1)
    for k, v in kw.items():
        setattr(opts, k, v)
    return scan_paths([str(src)], opts)


def test_finding_points_at_the_offending_key_with_fix_and_references(tmp_path: Path) -> None:
    report = _scan(tmp_path, {"app.yaml": "# a comment\n---\n" + DEPLOYMENT})
    findings = [f for f in report.findings if f.rule_id == "T-001"]  # type: ignore[attr-defined]
    assert len(findings) == 1
    f = findings[0]
    assert (f.line, f.column) == (20, 13)  # "privileged:" after the comment and marker
    assert f.path == "/spec/template/spec/containers/0/securityContext/privileged"
    assert f.severity.name == "HIGH" and f.source == "security" and f.title
    assert f.resource.kind == "Deployment" and f.resource.namespace == "shop"
    assert f.extra["evidence"] is True and f.extra["status"] == "failed"
    assert f.extra["fix"] == [{"op": "replace", "value": False, "path": [
        "spec", "template", "spec", "containers", 0, "securityContext", "privileged"]}]
    assert f.references["kubescape"] == ["C-0057"]
    assert "nsa" in f.references["frameworks"] and "pss-baseline" in f.references["frameworks"]
    assert f.help_uri.endswith("#t-001-test-privileged")


def test_controls_only_see_their_kinds(tmp_path: Path) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {privileged: 'true'}\n"
    report = _scan(tmp_path, {"cm.yaml": cm})
    assert report.findings == []  # type: ignore[attr-defined]
    scores = report.extra["scores"].to_dict()  # type: ignore[attr-defined]
    assert scores["controls"]["T-001"]["status"] == "irrelevant"


def test_list_items_are_resources_with_their_own_lines(tmp_path: Path) -> None:
    text = ("apiVersion: v1\nkind: List\nitems:\n"
            "  - apiVersion: v1\n    kind: Pod\n    metadata: {name: a}\n    spec:\n"
            "      containers:\n        - name: a\n          image: x\n"
            "          securityContext: {privileged: true, runAsNonRoot: true}\n")
    report = _scan(tmp_path, {"list.yaml": text})
    [f] = [f for f in report.findings if f.rule_id == "T-001"]  # type: ignore[attr-defined]
    assert f.resource.name == "a" and f.line == 11
    assert f.extra["fix"][0]["path"][:2] == ["items", 0]


def test_list_items_get_their_lines_without_composing_the_list(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socle.formats.yaml as fy

    item = ("  - apiVersion: v1\n    kind: Pod\n    metadata: {{name: {n}}}\n    spec:\n"
            "      containers:\n        - name: a\n          image: x\n"
            "          securityContext:\n            privileged: {p}\n"
            "            runAsNonRoot: true\n")
    text = ("apiVersion: v1\nkind: List\nitems:\n" + item.format(n="a", p="false")
            + item.format(n="b", p="true") + item.format(n="c", p="true"))
    calls: list[int] = []
    real = fy.positions
    monkeypatch.setattr(fy, "positions", lambda t: calls.append(1) or real(t))
    report = _scan(tmp_path, {"list.yaml": text})
    got = sorted((f.resource.name, f.line) for f in report.findings  # type: ignore
                 if f.rule_id == "T-001")
    assert got == [("b", 22), ("c", 32)]
    assert calls == []  # block YAML: the fast lookup found every line


def test_cross_resource_control_reads_the_whole_input(tmp_path: Path) -> None:
    svc = ("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n"
           "  selector: {app: web}\n---\napiVersion: v1\nkind: Service\n"
           "metadata: {name: ghost}\nspec:\n  selector:\n    app: ghost\n")
    report = _scan(tmp_path, {"a-svc.yaml": svc, "b-deploy.yaml": DEPLOYMENT})
    found = [f for f in report.findings if f.rule_id == "T-003"]  # type: ignore[attr-defined]
    assert [(f.resource.name, f.line) for f in found] == [("ghost", 11)]


def test_inputs_default_from_metadata_and_overridden(tmp_path: Path) -> None:
    report = _scan(tmp_path, {"d.yaml": DEPLOYMENT})
    assert not [f for f in report.findings if f.rule_id == "T-004"]  # type: ignore[attr-defined]
    report = _scan(tmp_path, {"d.yaml": DEPLOYMENT},
                   inputs={"allowedRegistries": ["ghcr.io/"]})
    [f] = [f for f in report.findings if f.rule_id == "T-004"]  # type: ignore[attr-defined]
    assert f.path.endswith("/image") and f.line == 16


def test_broken_control_is_an_error_not_a_crash(tmp_path: Path) -> None:
    ctl = write_controls(tmp_path / "controls", ["test-privileged"])
    (ctl / "test-privileged" / "policy.rego").write_text(
        "package socle.controls.test_privileged\n\nimport rego.v1\n\n"
        "deny contains x if { x := 1 / 0 }\nbroken := 1 if true\nbroken := 2 if true\n"
        "deny contains broken if true\n")
    (tmp_path / "d.yaml").write_text(DEPLOYMENT)
    report = scan_paths([str(tmp_path / "d.yaml")],
                        ScanOptions(controls_dirs=[str(ctl)], bundled=False, workers=1))
    assert report.errors == 1
    assert report.findings[0].rule_id == "control/error"


def test_a_controls_findings_read_and_ordered_alike_by_every_engine(tmp_path: Path) -> None:
    """The compiled engine hands the scanner its sets of findings unsorted and unconverted;
    what a report shows is what regorus gives: whole floats as integers, sets as sorted
    arrays, and one control's findings ordered by place, then message (here two at the same
    key, made "zeta" first)."""
    ctl = write_controls(tmp_path / "controls", ["test-privileged"])
    (ctl / "test-privileged" / "policy.rego").write_text(
        "package socle.controls.test_privileged\n\nimport rego.v1\n\n"
        "deny contains f if {\n  some m in [\"zeta\", \"alpha\"]\n"
        "  f := {\"msg\": m, \"path\": [\"spec\", \"template\", \"spec\", \"containers\", 0.0,"
        " \"securityContext\"], \"evidence\": {\"b\", \"a\", 2.0},\n"
        "    \"fix\": [{\"op\": \"replace\", \"path\": [\"spec\", \"replicas\"],"
        " \"value\": 2.0}]}\n"
        "}\n\n"
        "deny contains {\"msg\": 3.0, \"path\": {\"spec\"}, \"evidence\": 1.5} if true\n\n"
        "deny contains \"a string\" if true\n")
    (tmp_path / "d.yaml").write_text(DEPLOYMENT)
    seen = []
    for engine in ("compiled", "regorus"):
        report = scan_paths([str(tmp_path / "d.yaml")], ScanOptions(
            controls_dirs=[str(ctl)], bundled=False, workers=1, engine=engine))
        seen.append([(f.line, f.column, f.message, f.path, f.extra)
                     for f in report.findings])
    assert seen[0] == seen[1]
    by_message = {s[2]: s for s in seen[0]}
    assert [s[2] for s in seen[0] if s[2] in ("alpha", "zeta")] == ["alpha", "zeta"]
    alpha = by_message["alpha"]
    assert alpha[3] == "/spec/template/spec/containers/0/securityContext"
    assert alpha[4]["evidence"] == [2, "a", "b"]
    assert alpha[4]["fix"] == [{"op": "replace", "path": ["spec", "replicas"], "value": 2}]
    assert by_message["3"][3] == "/spec" and by_message["3"][4]["evidence"] == 1.5
    assert by_message["a string"][3] == ""


def test_bad_control_metadata_names_file_and_line(tmp_path: Path) -> None:
    ctl = write_controls(tmp_path / "controls", ["test-privileged"])
    meta = ctl / "test-privileged" / "control.yaml"
    meta.write_text(meta.read_text().replace("severity: high", "severity: urgent"))
    with pytest.raises(UsageError) as err:
        scan_paths([str(tmp_path)], ScanOptions(controls_dirs=[str(ctl)], bundled=False))
    assert err.value.file == str(meta) and err.value.line == 4


def test_selection_by_controls_and_exclusion(tmp_path: Path) -> None:
    report = _scan(tmp_path, {"d.yaml": DEPLOYMENT}, include=["test-privileged,T-002"],
                   exclude=["T-002"])
    assert {f.rule_id for f in report.findings} == {"T-001"}  # type: ignore[attr-defined]
    with pytest.raises(UsageError):
        _scan(tmp_path, {"d.yaml": DEPLOYMENT}, include=["T-999"])


@pytest.mark.parametrize(("include", "exclude", "expected"), [
    (["C-0057"], [], {"T-001"}),  # (`kubescape scan control C-0057`)
    (["ckv_k8s_16"], [], {"T-001"}),  # (Checkov's ids, any case)
    (["T-001"], ["container-security-context-privileged"], set()),  # (kube-score's names)
    ([], ["privileged-container"], set()),  # (kube-linter's)
])
def test_controls_are_chosen_by_other_tools_ids_through_the_references(
        tmp_path: Path, include: list[str], exclude: list[str], expected: set[str]) -> None:
    report = _scan(tmp_path, {"d.yaml": DEPLOYMENT}, include=include, exclude=exclude)
    assert {f.rule_id for f in report.findings} == expected  # type: ignore[attr-defined]
    with pytest.raises(UsageError, match="a Kubescape, Checkov, Trivy, kube-score"):
        _scan(tmp_path, {"d.yaml": DEPLOYMENT}, include=["C-9999"])


def test_bundled_fixture_folders_scan_as_the_fixture_harness_says() -> None:
    folder = BUNDLED / "privileged-container" / "fixtures"
    report = scan_paths([str(folder)], ScanOptions(include=["SCL-001"], workers=1))
    files = {Path(f.file).name for f in report.findings}
    assert files == {"fail.yaml"} and len(report.findings) == 3


@pytest.mark.skipif(not available("opa"), reason="OPA bindings not installed")
def test_opa_engine_finds_the_same(tmp_path: Path) -> None:
    a = _scan(tmp_path, {"d.yaml": DEPLOYMENT})
    b = _scan(tmp_path, {"d.yaml": DEPLOYMENT}, engine="opa")
    key = [(f.rule_id, f.line, f.message) for f in a.findings]  # type: ignore[attr-defined]
    assert key == [(f.rule_id, f.line, f.message) for f in b.findings]  # type: ignore


_NETWORK_POLICY = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
                   "  name: db\n  namespace: shop\nspec:\n  podSelector:\n"
                   "    matchLabels: {app: db}\n")


def test_parallel_run_equals_serial(tmp_path: Path) -> None:
    big = (DEPLOYMENT + "---\n") * 70
    files = {f"f{i:02d}.yaml": big.replace("name: web", f"name: web{i}") for i in range(10)}
    serial = _scan(tmp_path, files)
    parallel = _scan(tmp_path, files, workers=2)
    assert sum(len(t) for t in files.values()) > 256 * 1024  # the parallel path
    one = sorted((f.file, f.line, f.rule_id) for f in serial.findings)  # type: ignore
    two = sorted((f.file, f.line, f.rule_id) for f in parallel.findings)  # type: ignore
    assert one == two and len(one) == 700


def test_parallel_cross_resource_phase_equals_serial(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from socle.security import runner

    # more than 400 documents for the cross-resource controls, and work enough to pay for a
    # fork (made so here): phase 2 runs in workers too, which inherit the documents; the heap
    # frozen for them is unfrozen afterwards. A NetworkPolicy in the input keeps SCL-043 in
    # the second phase.
    big = (DEPLOYMENT + "---\n") * 70
    files = {f"f{i:02d}.yaml": big.replace("name: web", f"name: web{i}") for i in range(10)}
    files["np.yaml"] = _NETWORK_POLICY
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    forks: list[int] = []
    real_pool = runner._pool

    def pool(workers: int) -> Any:
        forks.append(workers)
        return real_pool(workers)

    monkeypatch.setattr(runner, "_pool", pool)
    monkeypatch.setattr(runner, "_FORK_PAYS_AFTER", 0.0)
    # SCL-043: no NetworkPolicy selects the pods (a cross-resource control)
    serial = scan_paths([str(tmp_path)], ScanOptions(include=["SCL-043"], workers=1))
    parallel = scan_paths([str(tmp_path)], ScanOptions(include=["SCL-043"], workers=2))
    assert forks == [1, 1]  # (the first phase's worker, and the second's)
    # little work left after the first span: the second phase stays in this process
    monkeypatch.setattr(runner, "_FORK_PAYS_AFTER", 60.0)
    forks.clear()
    alone = scan_paths([str(tmp_path)], ScanOptions(include=["SCL-043"], workers=2))
    assert forks == [1]
    assert [(f.file, f.line, f.path) for f in alone.findings] == \
        [(f.file, f.line, f.path) for f in parallel.findings]  # type: ignore[attr-defined]
    key = [(f.file, f.line, f.path, f.message) for f in serial.findings]  # type: ignore
    assert key == [(f.file, f.line, f.path, f.message)  # type: ignore[attr-defined]
                   for f in parallel.findings]
    assert len(key) == 700
    assert gc.get_freeze_count() == 0


def test_one_large_file_is_shared_by_the_workers_with_the_same_report(tmp_path: Path) -> None:
    # one file over a megabyte: scanned in pieces by both workers, reported as one worker
    # reports it (lines, documents, scores; the cross-resource phase sees every document)
    text = "".join((DEPLOYMENT + "# " + "padding " * 200 + "\n---\n").replace(
        "name: web", f"name: web{i}") for i in range(800))
    (tmp_path / "all.yaml").write_text(text)
    (tmp_path / "np.yaml").write_text(_NETWORK_POLICY)  # (SCL-043 stays in the second phase)
    assert len(text) > 1024 * 1024
    options = {"include": ["SCL-001", "SCL-002", "SCL-043"]}
    serial = scan_paths([str(tmp_path)], ScanOptions(**options, workers=1))  # type: ignore
    parallel = scan_paths([str(tmp_path)], ScanOptions(**options, workers=2))  # type: ignore

    def key(r: Any) -> list[tuple[Any, ...]]:
        return [(f.file, f.document_index, f.line, f.path, f.rule_id, f.message)
                for f in r.findings]

    assert key(serial) == key(parallel) and len(key(serial)) >= 800
    assert [(d.index, d.line) for d in serial.documents] == \
        [(d.index, d.line) for d in parallel.documents]
    assert serial.extra["scores"] == parallel.extra["scores"]


def test_finding_paths_are_json_pointers_escaped_the_same_every_time() -> None:
    from socle.security.runner import _pointer_of

    keys: list[str | int] = ["metadata", "annotations", "a/b~c", 0]
    assert _pointer_of(keys) == "/metadata/annotations/a~1b~0c/0"
    keys.append("x")  # the cache keeps its own copy of the path
    assert _pointer_of(keys) == "/metadata/annotations/a~1b~0c/0/x"
    assert _pointer_of(["metadata", "annotations", "a/b~c", 0]) == "/metadata/annotations/a~1b~0c/0"
    assert _pointer_of([]) == ""


def _no_token_scan(text: str) -> Any:
    raise AssertionError("the token scan of the whole file")


def test_json_list_items_find_their_lines_without_the_token_scan_in_both_phases(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pretty-printed JSON List (kubectl get -o json): its items' finding lines are searched
    for, in the first phase and, pickled with the List's value, in the cross-resource one;
    the token scan of the whole file is not needed, and the lines are the ones it gives."""
    import json
    import pickle

    from socle.formats import json as json_format
    from socle.formats.lines import position
    from socle.security.exceptions import Exceptions
    from socle.security.runner import FileResult, Scanner, select_controls

    items = [{"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": f"d{i}", "namespace": "n"},
              "spec": {"selector": {"matchLabels": {"app": f"d{i}"}},
                       "template": {"metadata": {"labels": {"app": f"d{i}"}},
                                    "spec": {"containers": [{"name": "a", "image": "x"}]}}}}
             for i in range(3)]
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=2)
    want = json_format.positions(text)
    doc = json_format.load_document(text, "l.json")
    selection = select_controls(ScanOptions())
    local = [c for c in selection.selected.controls if not c.cross_resource]
    scanner = Scanner(local, selection.selected.libraries, {},
                      Exceptions(selection.all.controls), cross_kinds={"Deployment"})

    monkeypatch.setattr(json_format, "positions", _no_token_scan)
    doc._locate = _no_token_scan
    out = FileResult()
    scanner.scan_document(doc, out, 1, True)
    assert out.findings and len(out.pending) == 3
    lines = {line for line, _ in want.values()}
    assert all(f.line in lines and f.column > 0 for f in out.findings)
    item = out.pending[2]
    back = pickle.loads(pickle.dumps(item))  # as the cross-resource phase receives it
    key = ["spec", "template", "spec", "containers", 0, "image"]
    full = ("items", 2, *key)
    assert position(back, key) == position(item, key) == want[full]
    missing = ["spec", "template", "spec", "containers", 0, "securityContext", "runAsUser"]
    assert position(back, missing) == want[("items", 2, *missing[:5])]


_DEPLOY = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: NAME\nspec:\n"
           "  selector:\n    matchLabels: {app: NAME}\n  template:\n    metadata:\n"
           "      labels: {app: NAME}\n    spec:\n      containers:\n      - name: a\n"
           "        image: x\n")
_DEPLOY_JSON = ('{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "NAME"},'
                ' "spec": {"selector": {"matchLabels": {"app": "NAME"}}, "template": {'
                '"metadata": {"labels": {"app": "NAME"}}, "spec": {"containers": [{"name": "a",'
                ' "image": "x"}]}}}}')
_SHAPES = {
    # a stream with markers, comments, a document whose content follows "---" on the file's
    # first line, and the line ends and encodings a worker decodes
    "stream.yaml": "--- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n# c\n---\n"
                   + _DEPLOY + "...\n---\n" + _DEPLOY.replace("NAME", "NAME-2"),
    "crlf.yaml": (_DEPLOY + "---\n" + _DEPLOY.replace("NAME", "NAME-2")).replace("\n", "\r\n"),
    "mac.yaml": (_DEPLOY + "---\n" + _DEPLOY.replace("NAME", "NAME-2")).replace("\n", "\r"),
    "bom.yaml": "\ufeff" + _DEPLOY.replace("image: x", "image: \u00e9t\u00e9"),
    "list.yaml": "apiVersion: v1\nkind: List\nitems:\n" + "".join(
        "- " + _DEPLOY.replace("NAME", f"NAME-{i}").replace("\n", "\n  ").rstrip(" ")
        for i in range(2)),
    "one.json": _DEPLOY_JSON.replace(", ", ",\n  ") + "\n",
    "list.json": '{"apiVersion": "v1", "kind": "List", "items": [\n  ' + ",\n  ".join(
        _DEPLOY_JSON.replace("NAME", f"NAME-{i}") for i in range(2)) + "\n]}\n",
    # YAML in a .json file, read as YAML once JSON refuses it
    "yaml-in.json": _DEPLOY_JSON.replace('"', "").replace("{", "{ ").replace(", ", ",\n "),
}


def test_texts_left_in_a_worker_are_read_again_as_they_were(tmp_path: Path) -> None:
    """A worker sends its pending documents without their texts (see leave_texts); phase 2
    reads each file again and finds every document's text as the worker read it, in every
    shape a file may take, for ``socle scan`` and ``socle check`` alike."""
    from socle.check.runner import _documents
    from socle.core.sources import Source
    from socle.security import runner
    from socle.security.runner import Reread, _iter_file_documents, _reread, leave_texts

    for name, text in _SHAPES.items():
        path = tmp_path / name
        path.write_bytes(text.encode())
        source = Source(str(path))
        for docs in (list(_iter_file_documents(source, source.read())),
                     list(_documents(source, source.read(), True, True, []))):
            texts = [d.text for d in docs]
            assert docs and all(t is not None for t in texts), name
            runner._REREAD[:] = [None, None]
            leave_texts(docs, str(path))
            assert all(d.text is None and type(d._index) is Reread for d in docs), name
            for d in docs:
                _reread(d, d._index)
            assert [d.text for d in docs] == texts, name
            assert all(d._index is None for d in docs)


def test_a_file_changed_before_phase_two_costs_lines_not_the_run(tmp_path: Path) -> None:
    from socle.core.sources import Source
    from socle.formats.lines import position
    from socle.security import runner
    from socle.security.runner import _iter_file_documents, _reread, leave_texts

    path = tmp_path / "d.yaml"
    path.write_text("# one\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\n")
    source = Source(str(path))
    [doc] = list(_iter_file_documents(source, source.read()))
    assert position(doc, ["metadata", "name"]) == (5, 3)
    leave_texts([doc], str(path))
    path.write_text("apiVersion: v1\nkind: Service\nmetadata:\n  name: changed\n")
    runner._REREAD[:] = [None, None]
    _reread(doc, doc._index)
    assert doc.text is None
    assert position(doc, ["metadata", "name"]) == (doc.line, 0)  # the document's own line
    doc.text = "x"
    leave_texts([doc], str(path))
    path.unlink()  # a file gone before phase 2: the same
    runner._REREAD[:] = [None, None]
    _reread(doc, doc._index)
    assert doc.text is None


def test_cross_resource_lines_with_workers_equal_one_process_in_every_shape(
        tmp_path: Path) -> None:
    """Many files of every shape, enough for the workers to take some: the cross-resource
    control's findings (read again from the files in phase 2) point where one process
    points."""
    for i in range(60):
        for name, text in _SHAPES.items():
            stem, ext = name.rsplit(".", 1)
            body = text.replace("NAME", f"d{i}")
            if ext == "yaml":  # a comment at the end, in the file's own line ends
                eol = "\r\n" if "\r\n" in body else "\r" if "\r" in body else "\n"
                body += "# " + "padding " * 400 + eol
            (tmp_path / f"{stem}-{i:02d}.{ext}").write_text(body, newline="")
    # a NetworkPolicy (selecting none of these pods) keeps SCL-043 in the second phase
    (tmp_path / "np.yml").write_text(_NETWORK_POLICY)
    options = {"include": ["SCL-043"]}
    serial = scan_paths([str(tmp_path)], ScanOptions(**options, workers=1))  # type: ignore
    parallel = scan_paths([str(tmp_path)], ScanOptions(**options, workers=2))  # type: ignore

    def key(r: Any) -> list[tuple[Any, ...]]:
        return sorted((f.file, f.document_index, f.line, f.column, f.path, f.rule_id)
                      for f in r.findings)

    assert key(serial) == key(parallel)
    assert {f.file for f in serial.findings} == {str(p) for p in tmp_path.iterdir()
                                                   if p.name != "np.yml"}
    # every finding at its key, none at its document's first line for want of the text
    assert all(f.column > 0 for f in parallel.findings)


def test_phase_two_reads_again_only_the_files_whose_documents_have_findings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file whose documents pass the cross-resource controls is not read a second time;
    the others are, and their findings keep their lines."""
    from socle.security import runner

    covered = _DEPLOY.replace("metadata:\n  name: NAME", "metadata:\n  name: NAME\n"
                              "  namespace: shop").replace("{app: NAME}", "{app: db}")
    pad = "# " + "padding " * 400 + "\n"
    for i in range(40):
        (tmp_path / f"covered-{i:02d}.yaml").write_text(
            (covered + "---\n").replace("NAME", f"c{i}") * 2 + pad)
        (tmp_path / f"bare-{i:02d}.yaml").write_text(
            (_DEPLOY + "---\n").replace("NAME", f"b{i}") * 2 + pad)
    (tmp_path / "np.yml").write_text(_NETWORK_POLICY)
    read: list[str] = []
    real = runner._reread

    def spy(doc: Any, ref: Any) -> None:
        read.append(ref.path)
        real(doc, ref)

    monkeypatch.setattr(runner, "_reread", spy)
    monkeypatch.setattr(runner, "_FORK_PAYS_AFTER", 60.0)  # (phase 2 in this process)
    runner._REREAD[:] = [None, None]
    report = scan_paths([str(tmp_path)], ScanOptions(include=["SCL-043"], workers=2))
    assert {f.file for f in report.findings} == {str(tmp_path / f"bare-{i:02d}.yaml")
                                                  for i in range(40)}
    assert all(f.column > 0 for f in report.findings)
    assert read  # (the worker took files: their findings' lines came from a second read)
    assert all("bare-" in p for p in read)


def test_a_scan_leaves_the_collector_and_the_heap_as_they_were(tmp_path: Path) -> None:
    """The cycle collector is paused for the scan (workers included) and given back as the
    caller had it; nothing stays frozen."""
    import gc

    big = (DEPLOYMENT + "---\n") * 70
    for i in range(10):
        (tmp_path / f"f{i:02d}.yaml").write_text(big.replace("name: web", f"name: web{i}"))
    seen: list[bool] = []
    from socle.security import runner

    real = runner.Scanner.scan_document

    def spy(self: Any, *args: Any, **kw: Any) -> None:
        seen.append(gc.isenabled())
        real(self, *args, **kw)

    runner.Scanner.scan_document = spy  # type: ignore[method-assign]
    try:
        report = scan_paths([str(tmp_path)], ScanOptions(include=["SCL-043"], workers=2))
    finally:
        runner.Scanner.scan_document = real  # type: ignore[method-assign]
    assert len(report.findings) == 700
    assert seen and not any(seen)  # (in this process: the workers' are their own)
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    gc.disable()
    try:
        scan_paths([str(tmp_path)], ScanOptions(include=["SCL-043"], workers=2))
        assert not gc.isenabled()  # a caller that had turned it off keeps it off
    finally:
        gc.enable()


def test_a_pipe_keeps_its_texts_and_is_never_read_again(tmp_path: Path) -> None:
    """A named pipe gives its bytes once: its documents keep their texts when a worker sends
    them, and a path that became a pipe is not opened in phase 2 (nobody writes to it: the
    read would wait for ever)."""
    import os

    from socle.core.document import Document
    from socle.security import runner
    from socle.security.runner import Reread, _reread, leave_texts

    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    doc = Document(obj={"kind": "Service"}, file=str(fifo), text="kind: Service\n")
    leave_texts([doc], str(fifo))
    assert doc.text == "kind: Service\n"
    doc.text = None
    runner._REREAD[:] = [None, None]
    _reread(doc, Reread(str(fifo), 14, hash("kind: Service\n")))  # (returns at once)
    assert doc.text is None


# --- cross-resource controls run in the first phase ------------------------------------------

_NAMES = ["NetworkPolicy", "ServiceAccount", "Role", "RoleBinding", "Deployment", "Service"]


@pytest.mark.parametrize(("text", "held"), [
    ("apiVersion: v1\nkind: Service\n", {"Service"}),
    ("kind: 'NetworkPolicy' # c\n", {"NetworkPolicy"}),
    ('{"kind": "RoleBinding", "roleRef": {"kind": "Role"}}', {"RoleBinding", "Role"}),
    ('{"kind":\n  "ServiceAccount",\n "x": 1}', {"ServiceAccount"}),
    ("- {kind: Deployment}\n", {"Deployment"}),
    ("kind:\n  NetworkPolicy\n", {"NetworkPolicy"}),
    ("kind: # the kind, below\n\n  # really\n  Role\n", {"Role"}),
    ("kind:\r  Role\r", {"Role"}),  # (old Mac line ends)
    # a CRD's schema of a kind field: a mapping below, no kind
    ("properties:\n  kind:\n    type: string\n  spec: {}\n", set()),
    ("kind:\n- a\n", set()),
    ("kind: {a: b}\nkind: [a]\nkind: ~\nkind: ''\n", set()),
    ("data:\n  note: the kind of a thing\n  mankind: Role\n", {"Role"}),  # (a superset)
    ('{"kind": "Service", "x": "\\u003c\\/b\\u003e"}', {"Service"}),  # (escapes of no letter)
])
def test_the_kinds_a_file_holds_are_read_from_its_kind_keys(text: str, held: set[str]) -> None:
    from socle.security.runner import kinds_in

    assert kinds_in(text.encode(), _NAMES) == held
    assert kinds_in(text, _NAMES) == held  # (a piece's text)


@pytest.mark.parametrize("text", [
    "x: &k NetworkPolicy\nkind: *k\n",  # an alias
    "kind: &k NetworkPolicy\n",  # an anchor
    "kind: !!str NetworkPolicy\n",  # a tag
    "kind: |\n  NetworkPolicy\n",  # a block scalar
    "kind:\n  *k\n",
    '{"kind": "Net\\u0077orkPolicy"}',  # an escape that spells a letter
    'kind: "Network\\\n  Policy"\n',  # an escaped line break
    'kind: "Net\\x77orkPolicy"\n',
    "kind: @x\n",
])
def test_a_kind_written_otherwise_makes_every_kind_possible(text: str) -> None:
    from socle.security.runner import kinds_in

    assert kinds_in(text.encode(), _NAMES) == set(_NAMES)
    assert kinds_in("kind: Service\n".encode("utf-16"), _NAMES) == set(_NAMES)


def test_the_kinds_read_from_kind_keys_cover_every_parsed_kind(tmp_path: Path) -> None:
    """Random manifests in random YAML styles (anchors, aliases, merge keys, flow, quoting,
    CRLF, BOM ...): every kind the YAML reader finds is among those kinds_in reads from the
    bytes, so a control is never moved to the first phase while its kinds are in the input."""
    import manifest_random
    from socle.formats.yaml import iter_documents
    from socle.security.runner import kinds_in

    names = sorted({o["kind"] for o in manifest_random.manifests("x")} | {"List"})
    checked = 0
    for seed in range(8):
        folder = tmp_path / str(seed)
        manifest_random.generate(str(folder), seed, 40)
        for path in sorted(folder.iterdir()):
            data = path.read_bytes()
            seen = set()
            for doc in iter_documents(data, str(path)):
                objs = [doc.obj]
                if isinstance(doc.obj, dict) and isinstance(doc.obj.get("items"), list):
                    objs += doc.obj["items"]
                seen |= {o.get("kind") for o in objs if isinstance(o, dict)}
            held = {k for k in seen if isinstance(k, str) and k in names}
            assert held <= kinds_in(data, names), path.read_text()
            checked += len(held)
    assert checked > 200


def _fixture_documents() -> list[Any]:
    from socle.formats.yaml import iter_documents

    docs = []
    for path in sorted(BUNDLED.glob("*/fixtures/*.yaml")):
        if path.name != "inputs.yaml":
            docs += [d for d in iter_documents(path.read_bytes(), str(path))
                     if isinstance(d.obj, dict) and isinstance(d.obj.get("kind"), str)]
    return docs


def test_a_declared_inventory_names_every_kind_its_control_reads() -> None:
    """Each bundled cross-resource control that declares the kinds it reads (``inventory``
    in control.yaml) finds the same with the inventory cut down to those kinds as with the
    whole of it: over every bundled control's fixtures at once (NetworkPolicies, RBAC,
    ServiceAccounts, HPAs, PDBs, Services and workloads side by side)."""
    from socle.security.runner import FileResult, Scanner, prepare

    selection, inputs, exceptions, names = prepare(ScanOptions())
    libraries = selection.selected.libraries
    docs = _fixture_documents()
    objs = [d.obj for d in docs]
    declared = [c for c in selection.selected.controls if c.inventory is not None]
    assert {c.id for c in declared} >= {"SCL-034", "SCL-043", "SCL-044", "SCL-071",
                                        "SCL-072", "SCL-074", "SCL-075"}
    compared = 0
    for c in declared:
        assert c.cross_resource and c.inventory
        cut = [o for o in objs if o["kind"] in c.inventory]
        full = Scanner([c], libraries, inputs, exceptions, inventory=objs, frameworks=names)
        some = Scanner([c], libraries, inputs, exceptions, inventory=cut, frameworks=names)
        for d in docs:
            if not c.applies_to(d.obj["kind"]):
                continue
            a, b = FileResult(), FileResult()
            full.scan_document(d, a, 2)
            some.scan_document(d, b, 2)
            assert [(f.rule_id, f.message, f.path) for f in a.findings] == \
                [(f.rule_id, f.message, f.path) for f in b.findings], (c.id, d.file)
            compared += len(a.findings)
    assert compared > 20


def _forced_to_phase_two(monkeypatch: pytest.MonkeyPatch) -> None:
    from socle.security import runner

    monkeypatch.setattr(runner, "first_phase_controls", lambda *a, **k: [])
    monkeypatch.setattr(runner.KindScan, "early", lambda self: [])


def _everything(report: Any) -> tuple[Any, ...]:
    rows = sorted((f.file, f.document_index, f.line, f.column, f.rule_id, f.path, f.message,
                   f.extra.get("status", "")) for f in
                  [*report.findings, *report.extra.get("excepted", [])])
    docs = [(d.file, d.index, d.status) for d in report.documents]
    return rows, docs, report.extra["scores"]


@pytest.mark.parametrize("workers", [1, 2])
def test_controls_run_in_the_first_phase_find_what_the_second_finds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    """Where the input holds no NetworkPolicy, ServiceAccount, RBAC binding, HPA or PDB, the
    controls that read only those run in the first phase, and the first phase keeps in the
    inventory only what the second reads (Services' workloads): the report (findings, lines,
    verdicts, scores) is the one the second phase gives with everything; with the fixtures of
    every control (all those kinds present) nothing moves."""
    from socle.security import runner

    service = "---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n" \
              "spec:\n  type: NodePort\n  selector: {app: web}\n  ports: [{port: 80}]\n"
    root = "---\n" + DEPLOYMENT.replace("name: web\n", "name: root\n").replace(
        "            runAsNonRoot: true\n", "")  # (the Service exposes it: SCL-071)
    for i in range(10):
        (tmp_path / f"f{i:02d}.yaml").write_text(
            ((DEPLOYMENT + "---\n") * 60 + service).replace("name: web", f"name: web{i}")
            + root.replace("name: root", f"name: root{i}"))
    early = runner.first_phase_controls(
        [c for c in runner.prepare(ScanOptions())[0].selected.controls if c.cross_resource],
        [runner.Source(str(p)) for p in sorted(tmp_path.iterdir())], None)
    # the five read kinds the input does not hold; SCL-075 and SCL-076 look at Ingresses and
    # HPAs, which it does not hold either; SCL-071 (Services, reading Deployments) stays
    assert {c.id for c in early} == {"SCL-034", "SCL-043", "SCL-044", "SCL-072", "SCL-074",
                                     "SCL-075", "SCL-076"}
    moved = scan_paths([str(tmp_path)], ScanOptions(workers=workers))
    with monkeypatch.context() as m:
        _forced_to_phase_two(m)
        kept = scan_paths([str(tmp_path)], ScanOptions(workers=workers))
    assert _everything(moved) == _everything(kept)
    assert {f.rule_id for f in moved.findings} >= {"SCL-034", "SCL-043", "SCL-071"}
    # the fixtures of every control: every declared kind is there, nothing moves
    sources = [runner.Source(str(p)) for p in sorted(BUNDLED.glob("*/fixtures/*.yaml"))]
    cross = [c for c in runner.prepare(ScanOptions())[0].selected.controls if c.cross_resource]
    assert runner.first_phase_controls(cross, sources, None) == []


def test_check_runs_the_same_controls_early_with_the_same_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from socle.check.runner import CheckOptions, check_paths
    from socle.schema.validator import ValidateOptions

    for i in range(10):
        (tmp_path / f"f{i:02d}.yaml").write_text(
            ((DEPLOYMENT + "---\n") * 60).replace("name: web", f"name: web{i}"))

    def run() -> Any:
        return check_paths([str(tmp_path)], CheckOptions(
            validate=ValidateOptions(), scan=ScanOptions(), workers=2, progress=False))

    from socle.security.runner import KindScan

    early: list[set[str]] = []
    real = KindScan.early

    def spy(self: KindScan) -> Any:
        out = real(self)
        early.append({c.id for c in out})
        return out

    with monkeypatch.context() as m:
        m.setattr(KindScan, "early", spy)
        moved = run()  # (the kinds read while the CRDs are looked for)
    assert early and "SCL-043" in early[0]
    with monkeypatch.context() as m:
        _forced_to_phase_two(m)
        kept = run()
    assert _everything(moved) == _everything(kept)
    assert "SCL-043" in {f.rule_id for f in moved.findings}


@pytest.mark.parametrize(("line", "why"), [
    ("inventory: [Network Policy]", "'Network Policy' is not a kind"),
    ("inventory: {a: b}", "must be a string or a list of strings"),
])
def test_a_bad_inventory_declaration_names_file_and_line(tmp_path: Path, line: str,
                                                         why: str) -> None:
    from socle.security.controls import parse_control

    ctl = write_controls(tmp_path / "controls", ["test-privileged"])
    meta = ctl / "test-privileged" / "control.yaml"
    meta.write_text(meta.read_text() + f"crossResource: true\n{line}\n")
    with pytest.raises(UsageError, match=why) as err:
        parse_control(meta.parent, False)
    assert err.value.file == str(meta) and err.value.line == len(meta.read_text().splitlines())
    meta.write_text(meta.read_text().replace("crossResource: true\n", ""))
    with pytest.raises(UsageError, match="only a crossResource control"):
        parse_control(meta.parent, False)
    meta.write_text(meta.read_text().replace(line, "crossResource: true\ninventory: ['*']"))
    assert parse_control(meta.parent, False).inventory is None  # (any kind)
    meta.write_text(meta.read_text().replace("['*']", "[Role, RoleBinding]"))
    assert parse_control(meta.parent, False).inventory == {"Role", "RoleBinding"}


def test_a_run_without_fix_operations_finds_the_same(tmp_path: Path) -> None:
    """``fixes=False`` (a report that shows none: text, junit, tap, ...) leaves out only the
    findings' fix operations, in both phases (SCL-043 here runs in the second)."""
    for i in range(3):
        (tmp_path / f"d{i}.yaml").write_text(
            DEPLOYMENT.replace("name: web", f"name: web{i}") + "---\n" + _NETWORK_POLICY)

    def key(report: Any) -> list[str]:
        return sorted(repr((f.file, f.line, f.column, f.rule_id, f.message, f.path,
                            f.resource, f.severity, f.references,
                            {k: v for k, v in f.extra.items() if k != "fix"}))
                      for f in report.findings)

    with_fixes = scan_paths([str(tmp_path)], ScanOptions(workers=2))
    without = scan_paths([str(tmp_path)], ScanOptions(workers=2, fixes=False))
    assert any("fix" in f.extra for f in with_fixes.findings)
    assert not any("fix" in f.extra for f in without.findings)
    assert any(f.rule_id == "SCL-043" for f in without.findings)
    assert key(with_fixes) == key(without)


def test_a_run_without_scores_finds_the_same(tmp_path: Path) -> None:
    """``scores=False`` (nothing reads them: a text check, a SARIF scan) leaves out the scores
    and only them, in both phases."""
    for i in range(3):
        (tmp_path / f"d{i}.yaml").write_text(
            DEPLOYMENT.replace("name: web", f"name: web{i}") + "---\n" + _NETWORK_POLICY)

    def key(report: Any) -> list[str]:
        return sorted(repr((f.file, f.line, f.column, f.rule_id, f.message, f.path, f.extra))
                      for f in report.findings)

    scored = scan_paths([str(tmp_path)], ScanOptions(workers=2))
    unscored = scan_paths([str(tmp_path)], ScanOptions(workers=2, scores=False))
    assert "scores" in scored.extra and "scores" not in unscored.extra
    assert any(f.rule_id == "SCL-043" for f in unscored.findings)
    assert key(scored) == key(unscored)
    assert [(d.file, d.index, d.status) for d in scored.documents] == [
        (d.file, d.index, d.status) for d in unscored.documents]
