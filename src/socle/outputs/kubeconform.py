"""kubeconform's ``-output json`` shape, for scripts written against it (``jq '.resources[] |
select(.status == "statusInvalid")'``): ``-o kubeconform``.

``{"resources": [...]}``, one entry per document, with kubeconform's keys: ``filename``,
``kind``, ``name``, ``version`` (the apiVersion), ``status`` (``statusValid``,
``statusInvalid``, ``statusError``, ``statusSkipped``), ``msg``, and for an invalid document
``validationErrors`` (``path``, a JSON pointer, and ``msg``: one per finding, at its own
path, where kubeconform often gives the schema's top-level failure, ``/spec``: "validation
failed", and the leaf in ``msg``). As kubeconform, only invalid documents and errors are
listed unless ``--verbose``, and ``summary`` (``valid``, ``invalid``, ``errors``,
``skipped``) is added with ``--summary``. The messages are socle's (one per finding, joined
by ``; `` in ``msg``), not kubeconform's, which name its schema URLs. socle's own report
schema is ``-o json``.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from socle.core.finding import Report, Status
from socle.outputs._cases import cases, clean

_STATUS = {"passed": "statusValid", "failed": "statusInvalid", "error": "statusError",
           "skipped": "statusSkipped"}


def write(report: Report, stream: TextIO, options: object) -> None:
    verbose = bool(getattr(options, "verbose", False))
    resources: list[dict[str, Any]] = []
    for case in cases(report):
        status = _STATUS[case.outcome]
        if not verbose and status in ("statusValid", "statusSkipped"):
            continue
        entry: dict[str, Any] = {
            "filename": clean(case.file), "kind": case.resource.kind,
            "name": case.resource.name, "version": case.resource.api_version,
            "status": status,
            "msg": "; ".join(clean(f.message) for f in case.findings) or (
                clean(case.reason) if case.status is not Status.VALID else ""),
        }
        if status == "statusInvalid":
            entry["validationErrors"] = [
                {"path": f.path, "msg": clean(_without_pointer(f.message, f.path))}
                for f in case.findings]
        resources.append(entry)
    out: dict[str, Any] = {"resources": resources}
    if getattr(options, "summary", False):
        counts = report.counts()
        out["summary"] = {"valid": counts["valid"], "invalid": counts["invalid"],
                          "errors": counts["error"], "skipped": counts["skipped"]}
    stream.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")


def _without_pointer(message: str, path: str) -> str:
    """A schema finding's message without its leading ``/path: `` (kubeconform keeps the
    path apart)."""
    for prefix in (f"{path}: ", "/: "):
        if message.startswith(prefix):
            return message[len(prefix):]
    return message
