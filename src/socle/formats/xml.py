"""XML, read as conftest reads it (basgys/goxml2json), built on the standard library's expat.

The shape conftest policies index:

* the document is an object with one key, the root element's name;
* an element with neither attributes nor child elements is its text;
* otherwise it is an object: each attribute under ``-name``, each child element under its
  name (a list when the name repeats), and its text, if any, under ``#content``;
* names lose their namespace prefix (``<x:a>`` is ``a``; ``xmlns:x`` is ``-x``);
* text is trimmed; when text is split by child elements or comments, the last piece wins;
* text and attribute values that read as JSON booleans, numbers with a ``.``, integers of two
  or more digits not starting with ``0``, or ``null`` become those values (goxml2json writes
  them unquoted); everything else, including one-digit numbers, stays a string.

Unlike goxml2json, which stops quietly at the first error and hands conftest what it has,
socle reports malformed XML with its line. Entity declarations (DTDs defining entities) are
refused: Go's XML reader does not expand them either, and refusing them rules out entity
expansion attacks.
"""

from __future__ import annotations

import codecs
import unicodedata
from typing import Any
from xml.parsers import expat

from socle.core.document import Document
from socle.core.errors import InputError
from socle.formats import yaml as _yaml

name = "xml"
extensions = (".xml",)



class _Refused(Exception):
    pass


class _Node:
    __slots__ = ("children", "data")

    def __init__(self) -> None:
        self.children: dict[str, list[_Node]] = {}
        self.data = ""

    def add(self, label: str, child: _Node) -> None:
        self.children.setdefault(label, []).append(child)


def _graphic(ch: str) -> bool:
    category = unicodedata.category(ch)
    return (category[0] in "LMNPS" or category == "Zs") and not ch.isspace()


def _trim(text: str) -> str:
    """goxml2json's trimNonGraphic: drop leading and trailing spaces and non-graphic runes."""
    start, end = 0, len(text)
    while start < end and not _graphic(text[start]):
        start += 1
    while end > start and not _graphic(text[end - 1]):
        end -= 1
    return text[start:end]


def _typed(text: str) -> Any:
    """conftest (goxml2json.Convert without a type converter) keeps every value a string."""
    return text


def _local(qname: str) -> str:
    return qname.rsplit(" ", 1)[-1]  # expat reports "uri local" with a namespace separator


def _convert(node: _Node) -> Any:
    if not node.children:
        return _typed(node.data)
    out: dict[str, Any] = {}
    if node.data:
        out["#content"] = _typed(node.data)
    for label, children in node.children.items():
        out[label] = _convert(children[0]) if len(children) == 1 else [
            _convert(child) for child in children]
    return out


def _read(text: str, file: str) -> Any:
    root = _Node()
    stack: list[tuple[str, _Node]] = [("", root)]
    pending: list[str] = []
    in_text = False

    def flush() -> None:
        nonlocal in_text
        if in_text:
            stack[-1][1].data = _trim("".join(pending))
            pending.clear()
            in_text = False

    def start(tag: str, attrs: dict[str, str]) -> None:
        flush()
        node = _Node()
        for key, value in attrs.items():
            attr = _Node()
            attr.data = value
            node.add("-" + _local(key), attr)
        stack.append((_local(tag), node))

    def end(_tag: str) -> None:
        flush()
        label, node = stack.pop()
        stack[-1][1].add(label, node)

    def chars(data: str) -> None:
        nonlocal in_text
        in_text = True
        pending.append(data)

    def boundary(*_args: Any) -> None:
        flush()

    def namespace_decl(prefix: str | None, _uri: str) -> None:
        # goxml2json sees xmlns attributes as ordinary attributes
        flush()
        pending_ns.append(("xmlns" if prefix is None else prefix, _uri))

    def entity_decl(*_args: Any) -> None:
        raise _Refused("XML entity declarations are not supported")

    pending_ns: list[tuple[str, str]] = []
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True

    def start_ns(tag: str, attrs: dict[str, str]) -> None:
        merged = {f"-{p}": v for p, v in pending_ns}
        pending_ns.clear()
        start(tag, attrs)
        node = stack[-1][1]
        for key, value in merged.items():
            attr = _Node()
            attr.data = value
            node.add(key, attr)

    parser.StartElementHandler = start_ns
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.CommentHandler = boundary
    parser.ProcessingInstructionHandler = boundary
    parser.StartCdataSectionHandler = boundary
    parser.EndCdataSectionHandler = boundary
    parser.StartNamespaceDeclHandler = namespace_decl
    parser.EntityDeclHandler = entity_decl

    def declaration(version: str | None, encoding: str | None, _standalone: int) -> None:
        # (Go's reader, so conftest, gives up on both; expat reads on)
        if version is not None and version != "1.0":
            raise _Refused(f'malformed XML: unsupported XML version "{version}"')
        if encoding is not None:
            try:
                codecs.lookup(encoding)
            except LookupError:
                raise _Refused(f'malformed XML: unknown encoding "{encoding}"') from None

    parser.XmlDeclHandler = declaration
    try:
        parser.Parse(text, True)
    except expat.ExpatError as err:
        raise InputError(f"malformed XML: {expat.errors.messages[err.code]}", file,
                         err.lineno, err.offset + 1) from None
    except _Refused as err:
        raise InputError(str(err), file, parser.CurrentLineNumber) from None
    return _convert(root)


def parse(data: bytes, path: str) -> list[Document]:
    text = _yaml.decode(data, path)
    if not text.strip():
        return []
    obj = _yaml.read_within_depth(lambda: _read(text, path), path)
    return [Document(obj=obj, file=path, index=0, line=1, text=text, format=name)]
