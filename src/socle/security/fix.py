"""``socle scan --fix``: apply the controls' fix patches to the files, keeping comments.

Each finding may carry ``fix``: JSON-patch operations with array paths (``add`` creates missing
parents, ``replace``, ``remove``). Only the documents that change are rewritten, with
ruamel.yaml's round-trip mode (comments, key order, quotes and flow style kept; the
indentation and line breaks of the file are detected and reused); every other document keeps
its exact bytes. A file is written only when the result, read as Kubernetes reads it (YAML
1.1), holds exactly the original values with the fixes applied (so a new value ruamel.yaml
would write in a way Kubernetes types differently, or an anchor that would carry a fix to
another place, stops the write), through a temporary file renamed over the original (never
half-written; a symbolic link is followed and kept, the encoding, mode and owner kept).
"""

from __future__ import annotations

import codecs
import contextlib
import copy
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

    # (an index or "-", the end of a list in JSON patch, says the missing parent is a list)
    return CommentedSeq() if isinstance(next_key, int) or next_key == "-" else CommentedMap()


def _plain(value: Any) -> Any:
    """A fix's value as round-trip nodes; a string that Kubernetes would read as something else
    when written plain (``no``, ``on``, ``0644``, ``~`` ... are YAML 1.1 bools, numbers and
    null, and ruamel.yaml writes YAML 1.2) is quoted."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    from socle.formats.yaml import resolve_plain

    if isinstance(value, dict):
        m = CommentedMap()
        for k, v in value.items():
            m[_plain(k) if isinstance(k, str) else k] = _plain(v)
        return m
    if isinstance(value, list):
        return CommentedSeq([_plain(v) for v in value])
    if isinstance(value, str) and (value == "" or not isinstance(resolve_plain(value), str)):
        return DoubleQuotedScalarString(value)
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
    if "\r\n" in chunk:  # (ruamel.yaml writes "\n"): the document's own line breaks
        out = out.replace("\r\n", "\n").replace("\n", "\r\n")
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
             result: FixResult, applied: dict[int, list[dict[str, Any]]] | None = None) -> str:
    """The text with every fix applied (documents that cannot be fixed are left alone);
    ``applied`` receives the operations applied to each document, by index."""
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
        except FixError as err:
            result.failed.extend((f, str(err)) for f, _ in items)
            continue
        except Exception as err:  # any ruamel problem: leave the document alone
            why = str(err).splitlines()[0] if str(err) else type(err).__name__
            result.failed.extend((f, f"ruamel.yaml cannot rewrite the document ({why})")
                                 for f, _ in items)
            continue
        replacements.append((start, end, new))
        result.fixed.extend(f for f, _ in items)
        if applied is not None:
            applied[index] = ops
    for start, end, new in sorted(replacements, reverse=True):
        new_lines = new.splitlines(keepends=True)
        if new_lines and not new_lines[-1].endswith("\n") and end < len(lines):
            new_lines[-1] += "\n"
        lines[start:end] = new_lines
    return "".join(lines)


def _values(text: str, name: str) -> tuple[dict[int, Any], str | None]:
    """Each document's value by index, read as Kubernetes reads it, or the first error."""
    from socle.formats.yaml import iter_documents

    out: dict[int, Any] = {}
    for doc in iter_documents(text, name):
        if doc.error is not None:
            line = f" (line {doc.error.line})" if doc.error.line else ""
            return out, f"{doc.error.message}{line}"
        out[doc.index] = doc.obj
    return out, None


def _kind(v: Any) -> int:
    for i, t in enumerate((bool, int, float, str, dict, list)):  # (bool before int)
        if isinstance(v, t):
            return i
    return -1 if v is None else -2


def _difference(a: Any, b: Any, at: str = "") -> str | None:
    """The JSON pointer of the first place where ``a`` and ``b`` differ, type included (1 is
    neither 1.0 nor true here), or None when they are the same."""
    if _kind(a) != _kind(b):
        return at or "/"
    if isinstance(a, dict):
        for k in a.keys() | b.keys():
            if k not in a or k not in b:
                return f"{at}/{k}"
            found = _difference(a[k], b[k], f"{at}/{k}")
            if found is not None:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return at or "/"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _difference(x, y, f"{at}/{i}")
            if found is not None:
                return found
        return None
    return None if a == b else (at or "/")


def _check_rewrite(text: str, new: str, name: str,
                   applied: dict[int, list[dict[str, Any]]]) -> str | None:
    """None when ``new``, read as Kubernetes reads it, is ``text`` with the operations
    ``applied`` and nothing else; else why the file must not be written."""
    before, problem = _values(text, name)
    if problem is not None:
        return f"the file does not read cleanly: {problem}"
    after, problem = _values(new, name)
    if problem is not None:
        return f"the fixed file would not read: {problem}"
    if before.keys() != after.keys():
        return "the fixed file would change the number of documents"
    for index, value in before.items():
        expected = value
        if index in applied:
            expected = copy.deepcopy(value)
            try:
                for op in applied[index]:
                    expected = apply_op(expected, op)
            except FixError as err:
                return str(err)
        where = _difference(expected, after[index])
        if where is not None:
            return (f"document {index + 1} would read differently at {where} than the fixes "
                    "say (an anchor shared with another place, or a value Kubernetes types "
                    "differently)")
    return None


def _encoding(data: bytes) -> tuple[bytes, str]:
    """(byte order mark, codec) of a file's bytes, as :func:`socle.formats.yaml.decode` reads
    them, to write it back the same way."""
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
                       (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
                       (codecs.BOM_UTF8, "utf-8")):
        if data.startswith(bom):
            return bom, codec
    return b"", "utf-8"


def apply_fixes(findings: Iterable[Finding], dry_run: bool = False) -> FixResult:
    """Fix the files the findings point at; with ``dry_run`` only compute the diffs."""
    from socle.formats.yaml import decode

    result = FixResult()
    by_name, result.unfixable = plan(findings)
    # one file under two names (a symbolic link and its target, "./a.yaml" and "a.yaml") is
    # fixed once, through the first name
    by_file: dict[str, tuple[str, dict[int, list[tuple[Finding, list[Any]]]]]] = {}
    for name in sorted(by_name):
        real = os.path.realpath(name)
        if real not in by_file:
            by_file[real] = (name, {})
        merged = by_file[real][1]
        for index, items in by_name[name].items():
            merged.setdefault(index, []).extend(items)
    for real, (path, docs) in by_file.items():
        if os.path.exists(real) and not os.path.isfile(real):  # (a pipe: <(helm template .))
            for items in docs.values():
                result.failed.extend((f, "not a regular file, nothing to rewrite")
                                     for f, _ in items)
            continue
        try:
            with open(real, "rb") as fh:
                data = fh.read()
            text = decode(data, path)
        except Exception as err:
            why = getattr(err, "strerror", None) or getattr(err, "message", None) or str(err)
            for items in docs.values():
                result.failed.extend((f, f"cannot read: {why}") for f, _ in items)
            continue
        if path.lower().endswith(".json"):
            for items in docs.values():
                result.failed.extend((f, "JSON files are not fixed automatically")
                                     for f, _ in items)
            continue
        part = FixResult()
        applied: dict[int, list[dict[str, Any]]] = {}
        new = fix_text(text, docs, part, applied)
        result.failed.extend(part.failed)
        if new == text:
            result.fixed.extend(part.fixed)
            continue
        problem = _check_rewrite(text, new, path, applied)
        if problem is not None:
            result.failed.extend((f, f"not written: {problem}") for f in part.fixed)
            continue
        result.fixed.extend(part.fixed)
        result.diffs[path] = "".join(difflib.unified_diff(
            text.splitlines(keepends=True), new.splitlines(keepends=True),
            _label("a", path), _label("b", path)))
        if not dry_run:
            _write_atomic(real, new, data)
            result.written.append(path)
    return result


def _label(side: str, path: str) -> str:
    return path if os.path.isabs(path) else f"{side}/{path}"


def _write_atomic(path: str, text: str, original: bytes) -> None:
    """Write ``text`` over the file ``path`` (no link: see apply_fixes) in the encoding of its
    ``original`` bytes, keeping its mode and, where allowed, its owner."""
    directory = os.path.dirname(os.path.abspath(path))
    bom, codec = _encoding(original)
    fd, tmp = tempfile.mkstemp(prefix=".socle-fix-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(bom + text.encode(codec))
        st = os.stat(path)
        with contextlib.suppress(OSError):
            os.chmod(tmp, st.st_mode & 0o7777)
        with contextlib.suppress(OSError):
            if (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
                os.chown(tmp, st.st_uid, st.st_gid)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
