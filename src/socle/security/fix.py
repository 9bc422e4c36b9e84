"""``socle scan --fix``: apply the controls' fix patches to the files, keeping comments.

Each finding may carry ``fix``: JSON-patch operations with array paths (``add`` creates missing
parents, ``replace``, ``remove``). Only the documents that change are rewritten, with
ruamel.yaml's round-trip mode (comments, key order, quotes and flow style kept; the
indentation of the file is detected and reused); every other document keeps its exact bytes.
A file is written only when the result parses to the same number of documents without errors,
through a temporary file renamed over the original (never half-written).
"""

from __future__ import annotations

import contextlib
import difflib
import io
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from socle.core.finding import Finding

Path_ = list[str | int]


@dataclass
class FixResult:
    fixed: list[Finding] = field(default_factory=list)
    failed: list[tuple[Finding, str]] = field(default_factory=list)  # (finding, why)
    unfixable: list[Finding] = field(default_factory=list)  # no automatic fix
    diffs: dict[str, str] = field(default_factory=dict)  # file -> unified diff
    written: list[str] = field(default_factory=list)


class FixError(Exception):
    pass


def _guess_indent(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) indentation as ruamel.yaml wants it, read from the text."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    mapping = 0
    offset = -1
    for i, line in enumerate(lines[:-1]):
        stripped = line.rstrip()
        if not stripped.endswith(":") or stripped.lstrip().startswith("- "):
            continue
        indent = len(line) - len(line.lstrip())
        nxt = lines[i + 1]
        nindent = len(nxt) - len(nxt.lstrip())
        if nindent < indent:
            continue
        if nxt.lstrip().startswith("- ") or nxt.strip() == "-":
            if offset < 0:
                offset = nindent - indent
        elif nindent > indent and not mapping:
            mapping = nindent - indent
        if mapping and offset >= 0:
            break
    mapping = mapping or 2
    offset = max(offset, 0)
    return mapping, offset + 2, offset


def _yaml(text: str) -> Any:
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    m, s, o = _guess_indent(text)
    y.indent(mapping=m, sequence=s, offset=o)
    return y


def _container_for(next_key: str | int) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    return CommentedSeq() if isinstance(next_key, int) else CommentedMap()


def _plain(value: Any) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, dict):
        m = CommentedMap()
        for k, v in value.items():
            m[k] = _plain(v)
        return m
    if isinstance(value, list):
        return CommentedSeq([_plain(v) for v in value])
    return value


def apply_op(root: Any, op: dict[str, Any]) -> Any:
    """Apply one operation to a round-trip tree; the (possibly new) root."""
    kind = op.get("op")
    path: Path_ = list(op.get("path") or [])
    if kind not in ("add", "replace", "remove"):
        raise FixError(f"unknown fix operation {kind!r}")
    if not path:
        if kind == "remove":
            raise FixError("cannot remove the whole document")
        return _plain(op.get("value"))
    node = root
    for i, key in enumerate(path[:-1]):
        nxt = path[i + 1]
        if isinstance(node, dict):
            if key not in node or node[key] is None:
                if kind == "remove":
                    return root
                node[key] = _container_for(nxt)
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int):
            if key >= len(node):
                if kind == "remove":
                    return root
                if key != len(node):
                    raise FixError(f"index {key} is past the end of the list")
                node.append(_container_for(nxt))
            node = node[key]
        else:
            raise FixError(f"cannot follow {key!r}: not a mapping or list there")
        if not isinstance(node, (dict, list)):
            raise FixError(f"cannot follow {path[i + 1]!r}: {key!r} holds a scalar")
    last = path[-1]
    if isinstance(node, dict):
        if kind == "remove":
            node.pop(last, None)
        else:
            node[last] = _plain(op.get("value"))
        return root
    if isinstance(node, list):
        if last == "-":
            last = len(node)
        if not isinstance(last, int):
            raise FixError(f"list index expected, got {last!r}")
        if kind == "remove":
            if last < len(node):
                del node[last]
        elif kind == "add":
            if last > len(node):
                raise FixError(f"index {last} is past the end of the list")
            node.insert(last, _plain(op.get("value")))
        else:
            if last >= len(node):
                raise FixError(f"index {last} is past the end of the list")
            node[last] = _plain(op.get("value"))
        return root
    raise FixError("the parent of the fix is not a mapping or list")


def _doc_spans(text: str) -> dict[int, tuple[int, int, str]]:
    """Document index -> (first line index, end line index, text), as the scanner indexes."""
    from socle.formats.yaml import split_documents

    out = {}
    for index, (line, chunk) in enumerate(split_documents(text)):
        start = line - 1
        out[index] = (start, start + len(chunk.splitlines(keepends=True)), chunk)
    return out


def _rewrite(chunk: str, ops: list[dict[str, Any]]) -> str:
    y = _yaml(chunk)
    head = ""
    body = chunk
    m = re.match(r"---[ \t]+", chunk)
    if m:  # "--- {a: 1}": content on the marker line
        head, body = "--- ", chunk[m.end():]
    root = y.load(body)
    for op in ops:
        root = apply_op(root, op)
    buf = io.StringIO()
    y.dump(root, buf)
    out = head + buf.getvalue()
    if not chunk.endswith("\n"):
        out = out.rstrip("\n")
    return out


def plan(findings: Iterable[Finding]) -> tuple[dict[str, dict[int, list[tuple[Finding,
                                                                          list[Any]]]]],
                                             list[Finding]]:
    by_file: dict[str, dict[int, list[tuple[Finding, list[Any]]]]] = {}
    unfixable = []
    for f in findings:
        ops = f.extra.get("fix")
        if not ops or not f.file or f.file == "stdin":
            unfixable.append(f)
            continue
        by_file.setdefault(f.file, {}).setdefault(f.document_index, []).append((f, ops))
    return by_file, unfixable


def fix_text(text: str, docs: dict[int, list[tuple[Finding, list[Any]]]],
             result: FixResult) -> str:
    """The text with every fix applied (documents that cannot be fixed are left alone)."""
    spans = _doc_spans(text)
    lines = text.splitlines(keepends=True)
    replacements: list[tuple[int, int, str]] = []
    for index in sorted(docs):
        items = docs[index]
        span = spans.get(index)
        if span is None:
            result.failed.extend((f, "document not found (the file changed?)") for f, _ in items)
            continue
        start, end, chunk = span
        seen: list[Any] = []
        ops: list[dict[str, Any]] = []
        for _, fops in items:
            for op in fops:
                if op not in seen:
                    seen.append(op)
                    ops.append(op)
        try:
            new = _rewrite(chunk, ops)
        except Exception as err:  # any ruamel or patch problem: leave the document alone
            why = str(err).splitlines()[0] if str(err) else type(err).__name__
            result.failed.extend((f, why) for f, _ in items)
            continue
        replacements.append((start, end, new))
        result.fixed.extend(f for f, _ in items)
    for start, end, new in sorted(replacements, reverse=True):
        new_lines = new.splitlines(keepends=True)
        if new_lines and not new_lines[-1].endswith("\n") and end < len(lines):
            new_lines[-1] += "\n"
        lines[start:end] = new_lines
    return "".join(lines)


def _count_documents(text: str, name: str) -> tuple[int, str | None]:
    from socle.formats.yaml import iter_documents

    n = 0
    for doc in iter_documents(text, name):
        if doc.error is not None:
            return n, doc.error.message
        n += 1
    return n, None


def apply_fixes(findings: Iterable[Finding], dry_run: bool = False) -> FixResult:
    """Fix the files the findings point at; with ``dry_run`` only compute the diffs."""
    from socle.formats.yaml import decode

    result = FixResult()
    by_file, result.unfixable = plan(findings)
    for path in sorted(by_file):
        docs = by_file[path]
        try:
            with open(path, "rb") as fh:
                data = fh.read()
            text = decode(data, path)
        except Exception as err:
            why = getattr(err, "strerror", None) or str(err)
            for items in docs.values():
                result.failed.extend((f, f"cannot read: {why}") for f, _ in items)
            continue
        if path.lower().endswith(".json"):
            for items in docs.values():
                result.failed.extend((f, "JSON files are not fixed automatically")
                                     for f, _ in items)
            continue
        part = FixResult()
        new = fix_text(text, docs, part)
        result.failed.extend(part.failed)
        if new == text:
            result.fixed.extend(part.fixed)
            continue
        before, _ = _count_documents(text, path)
        after, problem = _count_documents(new, path)
        if problem is not None or after != before:
            why = problem or "the fixed file would change the number of documents"
            result.failed.extend((f, f"not written: {why}") for f in part.fixed)
            continue
        result.fixed.extend(part.fixed)
        result.diffs[path] = "".join(difflib.unified_diff(
            text.splitlines(keepends=True), new.splitlines(keepends=True),
            _label("a", path), _label("b", path)))
        if not dry_run:
            _write_atomic(path, new, data)
            result.written.append(path)
    return result


def _label(side: str, path: str) -> str:
    return path if os.path.isabs(path) else f"{side}/{path}"


def _write_atomic(path: str, text: str, original: bytes) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    bom = original.startswith(b"\xef\xbb\xbf")
    fd, tmp = tempfile.mkstemp(prefix=".socle-fix-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
        with contextlib.suppress(OSError):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
