"""`socle validate` end to end, as a user runs it."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from socle_testing import ROOT, run_socle

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
{extra}"""


def deployment(replicas: str = "2", extra: str = "") -> str:
    return DEPLOYMENT.format(replicas=replicas, extra=extra)


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_example_repository_is_clean() -> None:
    r = run_socle("validate", "--summary", str(ROOT / "examples" / "repo"))
    assert r.code == 0, r.out + r.err
    assert "Valid: 7, Invalid: 0, Errors: 0" in r.out


def test_wrong_type_is_reported_with_line_and_exit_1(tmp_path: Path) -> None:
    f = write(tmp_path, "d.yaml", deployment(replicas='"three"'))
    r = run_socle("validate", str(f))
    assert r.code == 1
    assert f"{f}:6:3:" in r.out
    assert "/spec/replicas" in r.out and "[schema/type]" in r.out
    assert "Traceback" not in r.err


def test_json_output_is_stable(tmp_path: Path) -> None:
    f = write(tmp_path, "d.yaml", deployment(replicas='"three"'))
    r = run_socle("validate", "-output", "json", str(f))
    data = json.loads(r.out)
    assert data["schemaVersion"] == 1
    assert data["summary"]["invalid"] == 1
    (finding,) = data["findings"]
    assert finding["ruleId"] == "schema/type"
    assert finding["line"] == 6 and finding["path"] == "/spec/replicas"
    assert finding["resource"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                   "namespace": "", "name": "web"}


def test_strict_rejects_unknown_fields_only_when_asked(tmp_path: Path) -> None:
    f = write(tmp_path, "d.yaml", deployment(extra="          imagePullPolicyy: Always\n"))
    assert run_socle("validate", str(f)).code == 0
    r = run_socle("validate", "-strict", str(f))
    assert r.code == 1
    assert "imagePullPolicyy" in r.out
    assert f"{f}:16:11:" in r.out  # the line of the unknown key itself


def test_strict_rejects_duplicate_keys(tmp_path: Path) -> None:
    f = write(tmp_path, "d.yaml", deployment(extra="          image: nginx:1.26\n"))
    assert run_socle("validate", str(f)).code == 0
    r = run_socle("validate", "--strict", str(f))
    assert r.code == 1
    assert "yaml/duplicate-key" in r.out and ":16:" in r.out


def test_yaml_11_scalars_are_typed_as_kubernetes_does(tmp_path: Path) -> None:
    # replicas: 0x10 is the integer 16 for Kubernetes; name: yes is the boolean true
    ok = write(tmp_path, "ok.yaml", deployment(replicas="0x10"))
    assert run_socle("validate", str(ok)).code == 0
    bad = write(tmp_path, "bad.yaml", deployment().replace("name: web\n", "name: yes\n", 1))
    r = run_socle("validate", str(bad))
    assert r.code == 1 and "/metadata/name" in r.out


def test_missing_kind_and_malformed_yaml_exit_2_with_location(tmp_path: Path) -> None:
    f = write(tmp_path, "a.yaml", "apiVersion: v1\nmetadata: {name: x}\n")
    r = run_socle("validate", str(f))
    assert r.code == 2 and "no kind" in r.out
    g = write(tmp_path, "b.yaml", "apiVersion: v1\nkind: ConfigMap\ndata: [a, b\n")
    r = run_socle("validate", str(g))
    assert r.code == 2
    assert f"{g}:4:1: high malformed YAML" in r.out or f"{g}:3:" in r.out
    assert "Traceback" not in r.err and "ERROR" not in r.err  # no native parser noise


def test_unknown_kind_is_an_error_unless_ignored(tmp_path: Path) -> None:
    f = write(tmp_path, "cr.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata: "
                                   "{name: w}\n")
    r = run_socle("validate", "-summary", str(f))
    assert r.code == 2 and "could not find schema for Widget" in r.out
    r = run_socle("validate", "-summary", "-ignore-missing-schemas", str(f))
    assert r.code == 0 and "Skipped: 1" in r.out


def test_skip_and_reject_by_kind_or_gvk(tmp_path: Path) -> None:
    f = write(tmp_path, "d.yaml", deployment(replicas='"bad"'))
    r = run_socle("validate", "-summary", "-skip", "Deployment", str(f))
    assert r.code == 0 and "Skipped: 1" in r.out
    r = run_socle("validate", "-summary", "-skip", "ConfigMap,apps/v1/Deployment", str(f))
    assert r.code == 0
    r = run_socle("validate", "-reject", "Deployment", str(f))
    assert r.code == 1 and "prohibited resource kind Deployment" in r.out


def test_folders_are_walked_and_ignore_patterns_apply(tmp_path: Path) -> None:
    write(tmp_path, "a/ok.yaml", deployment())
    write(tmp_path, "a/b/bad.yml", deployment(replicas='"x"'))
    write(tmp_path, "a/notes.txt", "not yaml at all: [")
    write(tmp_path, "a/c.json", json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                                            "metadata": {"name": "c"}, "data": {"k": "v"}}))
    r = run_socle("validate", "-summary", str(tmp_path / "a"))
    assert r.code == 1 and "3 resources found in 3 files" in r.out
    r = run_socle("validate", "-summary", "-ignore-filename-pattern", r"/b/", str(tmp_path / "a"))
    assert r.code == 0 and "2 resources found in 2 files" in r.out


def test_files_in_folders_are_named_and_matched_as_kubeconform_names_them(tmp_path: Path
                                                                          ) -> None:
    # found in a folder: joined and cleaned, as Go's filepath.Walk gives them ("./a" and
    # "ok.yaml" make "a/ok.yaml"); named on the command line: as given
    write(tmp_path, "a/ok.yaml", deployment())
    write(tmp_path, "a/b/bad.yml", deployment(replicas='"x"'))
    r = run_socle("validate", "-output", "tap", ".", cwd=tmp_path)
    assert r.code == 1
    assert " - a/ok.yaml - " in r.out and " - a/b/bad.yml - " in r.out and "./a" not in r.out
    r = run_socle("validate", "-output", "tap", "./a//b/", "./a/ok.yaml", cwd=tmp_path)
    assert " - a/b/bad.yml - " in r.out and " - ./a/ok.yaml - " in r.out
    # a user's pattern for hidden files (kubeconform walks hidden folders) keeps the rest
    r = run_socle("validate", "-summary", "-ignore-filename-pattern", r"^\..+", ".",
                  cwd=tmp_path)
    assert r.code == 1 and "2 resources found in 2 files" in r.out
    r = run_socle("validate", "-summary", "-ignore-filename-pattern", "^a/b/", ".", cwd=tmp_path)
    assert r.code == 0 and "1 resource found in 1 file" in r.out


def test_stdin(tmp_path: Path) -> None:
    r = run_socle("validate", "-summary", "-", stdin=deployment() + "---\n" + deployment("'x'"))
    assert r.code == 1
    assert "stdin:22:" in r.out  # the second document's replicas line
    assert r.out.splitlines()[-1] == ("Summary: 2 resources found parsing stdin - Valid: 1, "
                                      "Invalid: 1, Errors: 0, Skipped: 0")


def test_piped_input_is_read_without_a_path_as_kubeconform_reads_it(tmp_path: Path) -> None:
    # `helm template . | kubeconform -strict -summary`: no path and data on stdin
    two = deployment() + "---\n" + deployment("'x'")
    r = run_socle("validate", "-summary", stdin=two)
    assert r.code == 1, r.err
    assert "stdin:22:" in r.out
    assert r.out.splitlines()[-1] == ("Summary: 2 resources found parsing stdin - Valid: 1, "
                                      "Invalid: 1, Errors: 0, Skipped: 0")
    # `socle validate < file`: stdin is the file itself
    import subprocess
    import sys

    f = write(tmp_path, "two.yaml", two)
    with open(f, "rb") as fh:
        proc = subprocess.run([sys.executable, "-m", "socle.cli.main", "validate", "-summary"],
                              stdin=fh, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1 and "stdin:22:" in proc.stdout, proc.stderr
    # nothing on stdin (/dev/null here, or a terminal): the usage error, not an empty pass,
    # with no path or with `-` (kubeconform refuses both)
    r = run_socle("validate", "-summary")
    assert (r.code, r.out) == (2, "")
    assert r.err == "socle validate: no input: give files, folders, or - for stdin\n"
    r = run_socle("validate", "-summary", "-")
    assert (r.code, r.out) == (2, "")
    assert r.err.startswith("socle validate: -: standard input is a terminal or a device ")
    # a path, typed or from socle.yaml: stdin is left alone
    ok = write(tmp_path, "ok.yaml", deployment())
    r = run_socle("validate", "-summary", str(ok), stdin="not: [yaml")
    assert r.code == 0 and "Summary: 1 resource found in 1 file -" in r.out, r.err
    (tmp_path / "socle.yaml").write_text("paths: [ok.yaml]\n", encoding="utf-8")
    r = run_socle("validate", "-summary", stdin="not: [yaml", cwd=tmp_path)
    assert r.code == 0 and "Summary: 1 resource found in 1 file -" in r.out, r.err


def test_named_files_other_than_yaml_and_json_are_passed_over_with_a_note(
        tmp_path: Path) -> None:
    # as kubeconform passes over them (`socle validate $(git diff --name-only main)`), said
    # on stderr; a link is read whatever its name (/dev/stdin, /dev/fd/N, `current`)
    import subprocess
    import sys

    write(tmp_path, "README.md", "# notes\n\nSee the docs.\n")
    ok = write(tmp_path, "ok.yaml", deployment())
    (tmp_path / "current").symlink_to(ok)
    r = run_socle("validate", "-summary", "README.md", "ok.yaml", "current", cwd=tmp_path)
    assert r.code == 0, r.err
    assert r.out == ("Summary: 2 resources found in 2 files - Valid: 2, Invalid: 0, "
                     "Errors: 0, Skipped: 0\n")
    assert r.err == ("socle validate: README.md: not a .yaml, .yml or .json file, not read "
                     "(as kubeconform); pipe it in (socle validate - < FILE) to validate it\n")
    with open(tmp_path / "README.md", "rb") as fh:  # what the note says to do
        proc = subprocess.run([sys.executable, "-m", "socle.cli.main", "validate", "-"],
                              stdin=fh, capture_output=True, text=True, timeout=60,
                              check=False)
    assert proc.returncode == 2 and "document is not a mapping" in proc.stdout
    with open(ok, "rb") as fh:
        proc = subprocess.run([sys.executable, "-m", "socle.cli.main", "validate", "-summary",
                               "/dev/stdin"], stdin=fh, capture_output=True, text=True,
                              timeout=60, check=False)
    assert proc.returncode == 0 and "1 resource found in 1 file" in proc.stdout, proc.stderr


def test_summary_counts_are_worded_as_kubeconform_words_them(tmp_path: Path) -> None:
    # a plural only above one: "0 resource found in 0 file"
    (tmp_path / "empty").mkdir()
    write(tmp_path, "e1.yaml", "")
    write(tmp_path, "e2.yaml", "# nothing\n")
    r = run_socle("validate", "-summary", str(tmp_path / "empty"))
    assert r.out == ("Summary: 0 resource found in 0 file - Valid: 0, Invalid: 0, Errors: 0, "
                     "Skipped: 0\n"), r.err
    # (a pass, as kubeconform's; said on stderr)
    assert r.code == 0
    assert r.err == "socle validate: no Kubernetes resource in the input: nothing was validated\n"
    r = run_socle("validate", "-summary", str(tmp_path / "e1.yaml"), str(tmp_path / "e2.yaml"))
    assert r.out.startswith("Summary: 0 resource found in 2 files - "), r.err
    r = run_socle("validate", "-summary", stdin="")
    assert r.out.startswith("Summary: 0 resource found parsing stdin - "), r.err
    # stdin among files: counted as one of them
    ok = write(tmp_path, "ok.yaml", deployment())
    r = run_socle("validate", "-summary", str(ok), "-", stdin=deployment())
    assert r.out.startswith("Summary: 2 resources found in 2 files - "), r.err


def test_kind_list_items_are_validated_one_by_one(tmp_path: Path) -> None:
    f = write(tmp_path, "list.yaml", """\
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: a}
  - apiVersion: v1
    kind: Service
    metadata: {name: b}
    spec:
      ports:
        - port: "eighty"
""")
    r = run_socle("validate", "-summary", str(f))
    assert r.code == 1
    assert "2 resources found" in r.out
    assert "Service b" in r.out and f"{f}:12:" in r.out


CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [size]
              properties:
                size:
                  x-kubernetes-int-or-string: true
                  anyOf: [{type: integer}, {type: string}]
                color: {type: string, enum: [red, blue]}
                extra:
                  type: object
                  x-kubernetes-preserve-unknown-fields: true
"""


def widget(spec: str) -> str:
    return f"apiVersion: example.com/v1\nkind: Widget\nmetadata: {{name: w}}\nspec:\n{spec}"


def test_crd_in_the_input_makes_its_resources_checkable(tmp_path: Path) -> None:
    write(tmp_path, "crds/widget.yaml", CRD)
    write(tmp_path, "good/a.yaml", widget("  size: 3\n  extra: {anything: [1, 2]}\n"))
    write(tmp_path, "good/b.yaml", widget("  size: 10Gi\n  color: red\n"))
    r = run_socle("validate", "-summary", str(tmp_path / "crds"), str(tmp_path / "good"))
    assert r.code == 0, r.out
    bad = write(tmp_path, "bad/c.yaml", widget("  size: 1\n  color: green\n  typo: 1\n"))
    r = run_socle("validate", str(tmp_path / "crds"), str(bad))
    assert r.code == 1
    assert "/spec/color" in r.out and "typo" in r.out  # nested objects are strict


def test_crd_catalog_folder_as_schema_location(tmp_path: Path) -> None:
    crd = write(tmp_path, "crd.yaml", CRD)
    catalog = tmp_path / "catalog"
    r = run_socle("schemas", "crd", str(crd), "--dir", str(catalog))
    assert r.code == 0 and (catalog / "example.com" / "widget_v1.json").exists()
    cr = write(tmp_path, "cr/w.yaml", widget("  color: blue\n"))  # size missing
    r = run_socle("validate", "-schema-location", "default", "-schema-location", str(catalog),
                  str(cr))
    assert r.code == 1 and "size" in r.out
    template = str(catalog) + "/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
    r = run_socle("validate", "-schema-location", template, str(cr))
    assert r.code == 1 and "size" in r.out


@pytest.fixture
def schema_server(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    root = tmp_path / "served"
    (root / "example.com").mkdir(parents=True)
    (root / "example.com" / "widget_v1.json").write_text(json.dumps({
        "type": "object", "required": ["spec"],
        "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}},
    }))
    hits: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: object, **k: object) -> None:
            super().__init__(*a, directory=str(root), **k)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            hits.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def test_http_schema_location_with_disk_cache(tmp_path: Path,
                                              schema_server: tuple[str, list[str]]) -> None:
    base, hits = schema_server
    cr = write(tmp_path, "w.yaml", widget("  size: big\n"))
    location = base + "/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
    cache = tmp_path / "cache"
    args = ("validate", "-schema-location", location, "-cache", str(cache), str(cr))
    r = run_socle(*args)
    assert r.code == 1 and "/spec/size" in r.out
    assert any("widget_v1.json" in h for h in hits)
    hits.clear()
    r = run_socle(*args)
    assert r.code == 1 and not hits  # served from the cache
    missing = base + "/nothing/{{ .ResourceKind }}.json"
    r = run_socle("validate", "-schema-location", missing, str(cr))
    assert r.code == 2 and "could not find schema" in r.out


def test_a_schema_server_sending_too_much_is_not_read_to_the_end(
        tmp_path: Path, schema_server: tuple[str, list[str]]) -> None:
    base, _ = schema_server
    with open(tmp_path / "served" / "example.com" / "widget_v1.json", "wb") as fh:
        fh.truncate((64 << 20) + 1)  # (one byte over the limit; sparse)
    cr = write(tmp_path, "w.yaml", widget("  size: big\n"))
    location = base + "/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
    r = run_socle("validate", "-schema-location", location, str(cr))
    assert r.code == 2
    assert r.err == (f"socle validate: cannot fetch schema {base}/example.com/widget_v1.json: "
                     "larger than 64 MiB\n")


def test_kubernetes_version_selects_bundled_schemas(tmp_path: Path) -> None:
    hpa = write(tmp_path, "hpa.yaml", """\
apiVersion: autoscaling/v2beta2
kind: HorizontalPodAutoscaler
metadata: {name: h}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 3
""")
    assert run_socle("validate", "-kubernetes-version", "1.25", str(hpa)).code == 0
    r = run_socle("validate", "-kubernetes-version", "1.29.4", str(hpa))
    assert r.code == 2 and "could not find schema" in r.out  # removed in 1.26
    r = run_socle("validate", "-kubernetes-version", "1.10", str(hpa))
    assert r.code == 2 and "not bundled" in r.err and "Traceback" not in r.err


def test_config_file_supplies_defaults_and_flags_win(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path, "socle.yaml", "validate:\n  strict: true\n  skip: [Service]\n")
    f = write(tmp_path, "k8s/d.yaml", deployment(extra="          bogus: 1\n"))
    r = run_socle("validate", str(tmp_path / "k8s"))
    assert r.code == 1 and "bogus" in r.out  # strict from the config
    write(tmp_path, "socle.yaml", "validate:\n  stritc: true\n")
    r = run_socle("validate", str(f))
    assert r.code == 2 and "unknown option 'stritc'" in r.err
    # at the top too: a misspelt section, or an option outside its section, is not dropped
    write(tmp_path, "socle.yaml", "output: text\nvaildate:\n  strict: true\n")
    r = run_socle("validate", str(f))
    assert (r.code, r.out) == (2, "")
    assert r.err.startswith(f"socle validate: {tmp_path / 'socle.yaml'}:2: unknown key "
                            "'vaildate' (did you mean 'validate'?): ")
    write(tmp_path, "socle.yaml", "strict: true\n")
    r = run_socle("validate", str(f))
    assert r.code == 2 and "unknown key 'strict' (an option of validate: write it in its " \
        "section, validate:)" in r.err
    write(tmp_path, "socle.yaml", "paths: [k8s]\nsummary: true\ncheck: {}\nscan: {}\n")
    r = run_socle("validate", cwd=tmp_path)
    assert r.code == 0 and "Summary: 1 resource found in 1 file - Valid: 1" in r.out, r.err
    (tmp_path / "socle.yaml").unlink()
    write(tmp_path, "pyproject.toml", "[tool.socle.validate]\nstrict = true\n")
    r = run_socle("validate", str(f))
    assert r.code == 1 and "bogus" in r.out


def test_parallel_run_gives_the_same_report_as_one_worker(tmp_path: Path) -> None:
    docs = []
    for i in range(60):
        docs.append(deployment(replicas='"x"' if i % 17 == 0 else str(i)).replace(
            "name: web\n", f"name: web-{i}\n", 1))
    big = "---\n".join(docs * 4)
    for i in range(40):
        write(tmp_path, f"m/f{i:02d}.yaml", big)
    one = run_socle("validate", "-o", "json", "-n", "1", str(tmp_path / "m"))
    two = run_socle("validate", "-o", "json", "-n", "2", str(tmp_path / "m"))
    assert one.code == two.code == 1
    a, b = json.loads(one.out), json.loads(two.out)
    assert a["summary"] == b["summary"]
    assert a["findings"] == b["findings"]
    assert a["summary"]["invalid"] == 40 * 4 * 4


def test_one_large_file_or_stdin_is_shared_by_the_workers_with_the_same_report(
        tmp_path: Path) -> None:
    # over a megabyte in one stream (a `helm template` output): read in pieces by every worker,
    # reported exactly as one worker reads it whole
    service = ("apiVersion: v1\nkind: Service\nmetadata: {{name: s{i}}}\n"
               "spec: {{selector: {{app: nothing-{i}}}, ports: [{{port: 80}}]}}\n")
    docs = []
    for i in range(900):
        docs.append(deployment(replicas='"x"' if i % 37 == 0 else str(i % 5),
                               extra="          env: [{name: A, value: on}]\n" * (i % 2))
                    .replace("name: web\n", f"name: web-{i}\n", 1))
        docs.append(service.format(i=i) if i % 50 == 0 else "# nothing here\n")
        if i % 300 == 7:
            docs.append("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [oops\n")
        if i % 300 == 9:
            docs.append("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n"
                        "data: {a: x}\ndata: {b: y}\n")
        if i % 300 == 11:
            docs.append("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n"
                        "  metadata: {name: p}\n  spec: {containers: [{name: a}, {name: a}]}\n")
    # a custom resource near the start, its CRD at the very end (in the last piece)
    text = widget("  size: 1\n  color: green\n") + "---\n" \
        + ("---\n".join(docs) + "---\n") * 5 + CRD
    f = write(tmp_path, "all.yaml", text)
    assert f.stat().st_size > 1024 * 1024
    one = run_socle("validate", "-strict", "-o", "json", "-n", "1", str(f))
    two = run_socle("validate", "-strict", "-o", "json", "-n", "2", str(f))
    assert one.code == two.code == 2, one.err + two.err  # (a malformed document)
    assert one.out == two.out
    report = json.loads(one.out)
    rules = {x["ruleId"] for x in report["findings"]}
    assert {"schema/type", "input/parse-error", "yaml/duplicate-key"} <= rules
    assert any(x["path"] == "/spec/color" for x in report["findings"])  # the CRD's schema
    piped = run_socle("validate", "-strict", "-o", "json", "-n", "2", "-", stdin=text)
    assert piped.code == 2
    assert piped.out == one.out.replace(json.dumps(str(f))[1:-1], "stdin")


def test_usage_errors(tmp_path: Path) -> None:
    r = run_socle("validate")
    assert r.code == 2 and "no input" in r.err
    r = run_socle("validate", str(tmp_path / "nope"))
    assert r.code == 2 and "no such file" in r.err
    r = run_socle("validate", "-o", "yamlish", str(ROOT / "examples" / "repo"))
    assert r.code == 2 and "unknown output" in r.err


@pytest.mark.parametrize("command", ["validate", "check", "scan"])
def test_config_paths_are_inputs_from_the_current_folder(tmp_path: Path, command: str) -> None:
    # `paths: [apps]` in socle.yaml are inputs as if typed, from the current folder (ignore
    # patterns are matched against them as given): from a subfolder the run stops with one
    # line, it never passes having read something else or nothing
    (tmp_path / ".git").mkdir()
    (tmp_path / "socle.yaml").write_text("paths: [apps]\n", encoding="utf-8")
    write(tmp_path, "apps/bad.yaml", deployment(replicas='"x"'))
    (tmp_path / "docs").mkdir()
    at_root = run_socle(command, "-o", "tap", cwd=tmp_path)
    assert at_root.code == 1 and "apps/bad.yaml" in at_root.out, at_root.err
    below = run_socle(command, "-o", "tap", cwd=tmp_path / "docs")
    assert below.code == 2 and below.err.strip() == f"socle {command}: apps: no such file or folder"


@pytest.mark.parametrize("command", ["validate", "check", "test", "scan"])
def test_a_deleted_current_folder_is_one_line_not_a_traceback(tmp_path: Path,
                                                              command: str) -> None:
    import subprocess
    import sys

    gone = tmp_path / "gone"
    gone.mkdir()
    # (a shell: a process cannot be started in a folder that no longer exists)
    proc = subprocess.run(["sh", "-c", 'cd "$1" && rmdir "$1" && shift && exec "$@"', "sh",
                           str(gone), sys.executable, "-m", "socle.cli.main", command, "."],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert proc.stderr == (f"socle {command}: the current folder no longer exists (was it "
                           "deleted?); change to an existing folder\n")


@pytest.mark.parametrize("command", ["validate", "check", "scan"])
def test_an_output_file_that_cannot_be_written_is_said_before_the_run(tmp_path: Path,
                                                                    command: str) -> None:
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    r = run_socle(command, "--output-file", "missing/report.json", "a.yaml", cwd=tmp_path)
    assert (r.code, r.out) == (2, "")
    assert r.err == (f"socle {command}: --output-file missing/report.json: folder "
                     f"{tmp_path / 'missing'} does not exist\n")
    r = run_socle(command, "--output-file", ".", "a.yaml", cwd=tmp_path)
    assert (r.code, r.err) == (2, f"socle {command}: --output-file .: is a folder\n")


@pytest.mark.parametrize("args", [["validate"], ["check"], ["scan"], ["parse"],
                                  ["test", "-p", "policy"], ["gatekeeper", "test", "-f"]])
def test_an_endless_device_is_refused_at_once_not_read_forever(tmp_path: Path,
                                                               args: list[str]) -> None:
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_text("package main\n\ndeny contains 1 if false\n")
    r = run_socle(*args, "/dev/zero", cwd=tmp_path, timeout=60)
    assert r.code == 2
    assert "/dev/zero:1: " in r.out + r.err
    assert "binary input (contains NUL bytes), not YAML or JSON" in r.out + r.err


@pytest.mark.parametrize(("args", "expected"), [
    (["validate"], "/data/k: 1 is not of types"),
    (["check", "--no-test"], "/data/k: 1 is not of types"),
    (["test", "-p", "policy", "--parser", "yaml"], "cm a [main.deny]"),
])
def test_a_named_pipe_is_read_once_like_a_file(tmp_path: Path, args: list[str],
                                              expected: str) -> None:
    # (what `socle validate <(helm template ...)` hands socle: a pipe, whose bytes come once;
    # validate read it twice, CRDs first, and passed having validated nothing)
    import os
    import threading

    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_text(
        'package main\n\ndeny contains sprintf("cm %v", [input.metadata.name]) if '
        'input.kind == "ConfigMap"\n')
    fifo = tmp_path / "manifests"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "w") as fh:
            fh.write("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: 1}\n")

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    r = run_socle(*args, str(fifo), cwd=tmp_path, timeout=60)
    writer.join(timeout=30)
    assert r.code == 1, r.err
    assert f"{fifo}:" in r.out and expected in r.out


def test_schemas_written_where_they_cannot_be_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    r = run_socle("schemas", "export", "--kubernetes-version", "1.31", "--dir",
                  str(tmp_path / "file" / "sub"))
    assert r.code == 2 and r.err.startswith(
        f"socle schemas: cannot write the schemas to {tmp_path / 'file' / 'sub'}: ")
    assert r.err.count("\n") == 1
    r = run_socle("schemas", "crd", "--dir", str(tmp_path / "file" / "sub"),
                  str(ROOT / "examples/repo/platform/crds/postgresclusters.yaml"))
    assert r.code == 2 and r.err.startswith(f"socle schemas: cannot write {tmp_path}/file/sub/")
    assert r.err.count("\n") == 1


@pytest.mark.parametrize("args", [["validate"], ["test", "-p", "policy"]])
def test_a_walked_folder_skips_pipes_and_names_dangling_links(tmp_path: Path,
                                                             args: list[str]) -> None:
    import os

    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_text("package main\n\ndeny contains 1 if false\n")
    (tmp_path / "real.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    d = tmp_path / "d"
    d.mkdir()
    (d / "link.yaml").symlink_to(tmp_path / "real.yaml")
    (d / "loop").symlink_to(tmp_path)  # (not followed)
    (d / "dangling.yaml").symlink_to(tmp_path / "missing.yaml")
    os.mkfifo(d / "pipe.yaml")  # (nobody writes to it: reading it would never end)
    r = run_socle(*args, "d", cwd=tmp_path, timeout=60)
    assert r.code == 2, r.err
    assert "d/dangling.yaml: high cannot read: No such file or directory" in r.out
    assert "pipe.yaml" not in r.out + r.err


def test_kubeconform_flags_socle_has_no_use_for_are_accepted(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
                                     "data: {k: 1}\n")
    r = run_socle("validate", "-exit-on-error", "-debug", "-summary", "a.yaml", cwd=tmp_path)
    assert r.code == 1 and "a.yaml:4:" in r.out and "Invalid: 1" in r.out


def test_go_forms_of_boolean_flags_are_taken(tmp_path: Path) -> None:
    # kubeconform's and conftest's users write Go's forms: `-strict=true`, `-summary=false`
    f = write(tmp_path, "d.yaml", deployment(extra="          bogus: 1\n"))
    r = run_socle("validate", "-strict=true", "-summary=1", str(f))
    assert r.code == 1 and "bogus" in r.out and "Summary: 1 resource" in r.out, r.err
    r = run_socle("validate", "-strict=false", "-summary=False", str(f))
    assert (r.code, r.out) == (0, ""), r.err
    r = run_socle("validate", "-strict=maybe", str(f))  # (argparse's one-line usage error)
    assert r.code == 2 and "ignored explicit argument 'maybe'" in r.err
    # `=false` wins over a config file's true, as a flag given does
    (tmp_path / ".git").mkdir()
    write(tmp_path, "socle.yaml", "validate:\n  strict: true\n")
    assert run_socle("validate", str(f)).code == 1
    assert run_socle("validate", "-strict=false", str(f)).code == 0
    (tmp_path / "socle.yaml").unlink()
    policy = tmp_path / "policy"
    policy.mkdir()
    (policy / "p.rego").write_text('package main\n\nwarn contains "w" if true\n')
    for value, code in (("true", 1), ("F", 0)):
        r = run_socle("test", f"--fail-on-warn={value}", "-p", str(policy), str(f))
        assert r.code == code, (value, r.out, r.err)
    # inside nested commands too (`socle gatekeeper test`)
    gk = ROOT / "tests" / "compat" / "gatekeeper" / "namespaceselector"
    for value, code in (("true", 0), ("maybe", 2)):
        r = run_socle("gatekeeper", "test", f"--deny-only={value}", "-f", "template.yaml",
                      "-f", "cm-prod.yaml", cwd=gk)
        assert r.code == code, (value, r.out, r.err)


@pytest.mark.parametrize(("command", "what"), [("validate", "validated"), ("check", "checked"),
                                               ("scan", "scanned")])
def test_a_gate_given_nothing_passes_but_says_so(tmp_path: Path, command: str, what: str
                                                 ) -> None:
    # a wrong or empty folder, a render that printed nothing: a pass, as the peers give, said
    (tmp_path / "empty").mkdir()
    r = run_socle(command, "empty", cwd=tmp_path)
    assert r.code == 0
    assert r.err == f"socle {command}: no Kubernetes resource in the input: nothing was {what}\n"
    write(tmp_path, "one.yaml", deployment())
    r = run_socle(command, "one.yaml", cwd=tmp_path)
    assert "nothing was" not in r.err
