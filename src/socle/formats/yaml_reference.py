"""The reference YAML loader: PyYAML's C parser with go-yaml v2's typing (see
:mod:`socle.formats.yaml`), and positions from its composer.

A module of its own so that runs whose documents all take the fast path never import PyYAML
(~25 ms of every small run's start).
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Iterator
from typing import Any, ClassVar

import yaml

from socle.core.document import PathKey, PositionMap
from socle.core.errors import InputError
from socle.formats.yaml import (
    _EMPTY,
    _GO_TIMESTAMP,
    _HARMLESS_ALIASES,
    _INT64_MAX,
    _INT64_MIN,
    MAX_ALIAS_RATIO,
    MAX_DEPTH,
    MAX_EXPANDED_NODES,
    DuplicateKeyError,
    _format_float32,
    resolve_plain,
    too_deep,
)

try:  # the C parser; PyYAML without libyaml still works, more slowly
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _BaseLoader = yaml.SafeLoader

_PLAIN_TAG = "tag:socle.dev,2024:plain"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_YAML_TAG = "tag:yaml.org,2002:"
_SCALAR_KINDS = {bool: "bool", int: "int", float: "float", str: "str", type(None): "null"}


class _DuplicateKey(yaml.constructor.ConstructorError):
    pass


class _NotJSON(yaml.constructor.ConstructorError):
    """A value JSON cannot hold (``.inf``, ``.nan``): go-yaml reads it, then the conversion to
    JSON behind kubectl, kubeconform and conftest fails the document."""


def _json_number(value: Any, node: yaml.Node) -> Any:
    if type(value) is float and not math.isfinite(value):
        raise _NotJSON(None, None, f"`{node.value}` is not a number JSON can hold: kubectl, "
                       "kubeconform and conftest cannot read this document ('json: "
                       "unsupported value'); quote it if it is text", node.start_mark)
    return value


def _fail(message: str, node: yaml.Node) -> yaml.constructor.ConstructorError:
    return yaml.constructor.ConstructorError(None, None, message, node.start_mark)


class _K8sLoader(_BaseLoader):  # type: ignore[misc]
    """PyYAML's loader with go-yaml v2's implicit typing, tags, merge keys and key spelling."""

    yaml_implicit_resolvers: ClassVar[dict[str | None, list[tuple[str, re.Pattern[str]]]]] = {}
    check_duplicates = False
    keys = 0  # how deep in constructing keys (a key may be .inf: it becomes a string)
    json = True  # whether .inf and .nan values are refused (else go-yaml's reading alone)

    def construct_plain(self, node: yaml.ScalarNode) -> Any:
        value = resolve_plain(node.value)
        return _json_number(value, node) if self.json and not self.keys else value

    def construct_k8s_mapping(self, node: yaml.MappingNode) -> dict[str, Any]:
        out: dict[str, Any] = {}
        self._fill_mapping(node, out, self.check_duplicates)
        return out

    def _fill_mapping(self, node: yaml.MappingNode, out: dict[str, Any], check: bool) -> None:
        # go-yaml v2 reads a mapping in order: a merge ("<<") writes its keys into the mapping
        # at that point (replacing keys set before it), keys after it replace merged ones.
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                self._merge(value_node, out)
                continue
            self.keys += 1
            try:
                key = _json_key(self.construct_object(key_node, deep=True), key_node)
            finally:
                self.keys -= 1
            if check:
                if key in seen:
                    raise _DuplicateKey(None, None, f"duplicate key {key!r}",
                                        key_node.start_mark)
                seen.add(key)
            out[key] = self.construct_object(value_node, deep=True)

    def _merge(self, node: yaml.Node, out: dict[str, Any]) -> None:
        if isinstance(node, yaml.MappingNode):
            self._fill_mapping(node, out, False)
        elif isinstance(node, yaml.SequenceNode):
            for item in reversed(node.value):  # earlier mappings take precedence
                if not isinstance(item, yaml.MappingNode):
                    raise _fail("map merge requires map or sequence of maps as the value", item)
                self._fill_mapping(item, out, False)
        else:
            raise _fail("map merge requires map or sequence of maps as the value", node)

    def construct_tagged(self, node: yaml.Node) -> Any:
        """A node with an explicit tag, as go-yaml v2 decodes it into interface{}."""
        if isinstance(node, yaml.MappingNode):
            return self.construct_k8s_mapping(node)  # tags on collections are ignored
        if isinstance(node, yaml.SequenceNode):
            return self.construct_sequence(node, deep=True)
        text = node.value
        tag = node.tag
        if not tag.startswith(_YAML_TAG):
            return text  # a local or unknown tag: the text, as go-yaml gives it
        short = tag[len(_YAML_TAG):]
        if short == "str":
            return text
        if short == "binary":
            try:
                data = base64.b64decode("".join(text.split()), validate=True)
            except ValueError:
                raise _fail("!!binary value contains invalid base64 data", node) from None
            return data.decode("utf-8", "replace")
        if short not in ("null", "bool", "int", "float", "timestamp"):
            return text
        if short == "timestamp" and _GO_TIMESTAMP.match(text):
            return text  # go-yaml keeps timestamps as strings in interface{}
        value = resolve_plain(text)
        kind = _SCALAR_KINDS[type(value)]
        if kind == "str" and _GO_TIMESTAMP.match(text):
            kind = "timestamp"
        if kind == short:
            return _json_number(value, node) if self.json and not self.keys else value
        if short == "float" and kind == "int" and _INT64_MIN <= value <= _INT64_MAX:
            return float(value)
        raise _fail(f"cannot decode !!{kind} `{text}` as a !!{short}", node)


# Every untagged plain scalar goes to one constructor that applies go-yaml's rules; the
# PyYAML YAML 1.1 resolvers (and their timestamp, sexagesimal, '=' quirks) are not used.
_K8sLoader.add_implicit_resolver(_MERGE_TAG, re.compile(r"<<\Z"), ["<"])
_K8sLoader.add_implicit_resolver(_PLAIN_TAG, re.compile(r"(?s).*"), None)
_K8sLoader.add_implicit_resolver(_PLAIN_TAG, re.compile(r"^$"), [""])
_K8sLoader.add_constructor(_PLAIN_TAG, _K8sLoader.construct_plain)
_K8sLoader.add_constructor("tag:yaml.org,2002:map", _K8sLoader.construct_k8s_mapping)
for _tag in ("null", "bool", "int", "float", "binary", "timestamp", "omap", "pairs", "set",
             "merge"):
    _K8sLoader.add_constructor(_YAML_TAG + _tag, _K8sLoader.construct_tagged)
_K8sLoader.add_constructor(None, _K8sLoader.construct_tagged)


def _json_key(key: Any, node: yaml.Node) -> str:
    """The key as sigs.k8s.io/yaml writes it into JSON; null and uint64 keys are refused."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int) and _INT64_MIN <= key <= _INT64_MAX:
        return str(key)
    if isinstance(key, float):
        return _format_float32(key)
    shown = "null" if key is None else "uint64" if isinstance(key, int) else type(key).__name__
    raise _fail(f"unsupported map key of type {shown} (Kubernetes cannot read it)", node)


class _StrictLoader(_K8sLoader):
    check_duplicates = True


# --- guards against hostile input ------------------------------------------------------------


def _check_expansion(root: yaml.Node) -> None:
    """Refuse documents whose aliases expand past the limits (billion laughs)."""
    sizes: dict[int, int] = {}
    written = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    seen: set[int] = set()
    while stack:
        node, done = stack.pop()
        nid = id(node)
        if done:
            size = 1
            if isinstance(node, yaml.SequenceNode):
                size += sum(sizes[id(c)] for c in node.value)
            elif isinstance(node, yaml.MappingNode):
                size += sum(sizes[id(k)] + sizes[id(v)] for k, v in node.value)
            sizes[nid] = size
            if size > MAX_EXPANDED_NODES and size > MAX_ALIAS_RATIO * max(written, 1):
                raise InputError(
                    f"aliases expand to more than {MAX_EXPANDED_NODES:,} nodes "
                    "(a YAML bomb?); refusing to read this document")
            continue
        if nid in seen:
            continue
        seen.add(nid)
        written += 1
        stack.append((node, True))
        if isinstance(node, yaml.SequenceNode):
            stack.extend((c, False) for c in node.value if id(c) not in seen)
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if id(k) not in seen:
                    stack.append((k, False))
                if id(v) not in seen:
                    stack.append((v, False))


def _scalars(root: yaml.Node) -> Iterator[tuple[yaml.ScalarNode, bool]]:
    """Every scalar node of a document once, and whether it stands in a flow collection."""
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    seen: set[int] = set()
    while stack:
        node, in_flow = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            yield node, in_flow
            continue
        flow = in_flow or bool(getattr(node, "flow_style", False))
        if isinstance(node, yaml.SequenceNode):
            stack.extend((c, flow) for c in node.value)
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                stack.append((k, flow))
                stack.append((v, flow))


def _check_flow_questions(root: yaml.Node) -> None:
    """Refuse a plain scalar with a "?" in a flow collection ("[http://x?y=1]"): go-yaml v2
    ends the scalar at the "?" and then fails, where libyaml 0.2 (this loader) reads it whole.
    (A "?" that starts a flow entry, "[?x]", is a key indicator for both.)"""
    for node, in_flow in _scalars(root):
        if in_flow and not node.style and "?" in node.value:  # (plain: None or "")
            mark = node.start_mark
            raise yaml.MarkedYAMLError(
                "while scanning a plain scalar in a flow collection", mark,
                "found '?', which go-yaml reads as a key indicator (quote the value)", mark)


_ESCAPED_SLASH = re.compile(r"(?<!\\)(?:\\\\)*+\\/")


def _check_escaped_slashes(text: str, root: yaml.Node) -> None:
    """Refuse "\\/" in a double-quoted scalar: YAML 1.2 (libyaml 0.2, this loader) reads it as
    "/", YAML 1.1 (go-yaml v2) has no such escape and refuses the document."""
    for node, _ in _scalars(root):
        if node.style == '"' and _ESCAPED_SLASH.search(
                text, node.start_mark.index, node.end_mark.index) is not None:
            mark = node.start_mark
            raise yaml.MarkedYAMLError(
                "while parsing a quoted scalar", mark,
                "found unknown escape character '/' (YAML 1.1 has no \\/: write /)", mark)


def _reference_load(text: str, strict: bool, json: bool = True) -> Any:
    """go-yaml v2's reading of ``text``; ``json``: refuse what JSON cannot hold (``.inf``),
    as the conversion to JSON behind the Kubernetes tools does."""
    loader_cls = _StrictLoader if strict else _K8sLoader
    loader = loader_cls(text)
    loader.json = json
    try:
        node = loader.get_single_node()
        if node is None:
            return _EMPTY
        if text.count("*") > _HARMLESS_ALIASES:
            _check_expansion(node)
        if "?" in text and ("[" in text or "{" in text):
            _check_flow_questions(node)
        if "\\/" in text:
            _check_escaped_slashes(text, node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _mark(err: yaml.MarkedYAMLError) -> tuple[int, int]:
    mark = err.problem_mark or err.context_mark
    if mark is None:
        return (0, 0)
    return (mark.line + 1, mark.column + 1)


def _describe(err: yaml.MarkedYAMLError) -> str:
    parts = [p for p in (err.context, err.problem) if p]
    return "malformed YAML: " + ", ".join(parts) if parts else "malformed YAML"


# PyYAML composes nodes recursively, partly in C: tens of thousands of levels overflow the C
# stack and kill the process (30,000 "[" did) before Python's recursion limit is reached.
# Text that may nest deeper than this is refused before it is read (what nests deeper than
# MAX_DEPTH is refused after reading anyway).
_GUARD_DEPTH = 4 * MAX_DEPTH
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def _may_nest_too_deep(text: str) -> bool:
    """Whether ``text`` may nest deeper than _GUARD_DEPTH: flow collections counted by their
    brackets (quoted ones too: an over-count only refuses what is absurd anyway), block ones
    by the spaces and "- " that start a line."""
    if text.count("[") + text.count("{") > _GUARD_DEPTH:
        depth = 0
        for c in _NOT_BRACKET.sub("", text):
            depth += 1 if c in "[{" else -1
            if depth > _GUARD_DEPTH:
                return True
    if text.count("- ") > _GUARD_DEPTH:  # "- - - x": sequences nested on one line
        for row in text.splitlines():
            if len(row) - len(row.lstrip(" -")) > 2 * _GUARD_DEPTH:
                return True
    return False


def load(text: str, file: str, line: int, strict: bool) -> tuple[Any, InputError | None]:
    """The reference loader's reading of one document whose first line is ``line`` of ``file``:
    (its value, None), or (None, the error with its line and column in the file)."""
    if _may_nest_too_deep(text):
        return None, too_deep(file, line)
    try:
        return _reference_load(text, strict), None
    except _DuplicateKey as err:
        rel_line, col = _mark(err)
        return None, DuplicateKeyError(str(err.problem), file, line - 1 + rel_line, col)
    except _NotJSON as err:
        rel_line, col = _mark(err)
        return None, InputError(str(err.problem), file, line - 1 + rel_line, col)
    except yaml.MarkedYAMLError as err:
        rel_line, col = _mark(err)
        message = _describe(err)
        if col > 1024:  # (the likely cause, the parser's own words do not say it)
            message += " (a key may be at most 1,024 characters long; this line is longer)"
        return None, InputError(message, file, line - 1 + rel_line if rel_line else line, col)
    except InputError as err:
        err.file, err.line = file, line
        return None, err
    except RecursionError:
        return None, too_deep(file, line)
    except yaml.reader.ReaderError as err:  # a character YAML does not allow
        where = line + text.count("\n", 0, err.position)
        column = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
        return None, InputError(f"malformed YAML: unacceptable character "
                                f"#x{err.character:04x}: {err.reason}", file, where, column)
    except yaml.YAMLError as err:
        return None, InputError(f"malformed YAML: {str(err).splitlines()[0]}", file, line)


def positions(text: str) -> PositionMap:
    """JSON path -> (line, column) of every key and sequence item, 1-based, in one document
    (from PyYAML's composer)."""
    loader = _BaseLoader(text)
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()
    out: PositionMap = {}
    if root is None:
        return out
    # in document order, so that what an anchor holds is found under the path where it is
    # written, not under that of an alias repeating it further down (where the alias's own key
    # is the answer, as for the fast lookup in socle.formats.lines)
    stack: list[tuple[yaml.Node, PathKey]] = [(root, ())]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        below: list[tuple[yaml.Node, PathKey]] = []
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if key is None or key == "<<":
                    continue
                child = (*path, key)
                out.setdefault(child, (key_node.start_mark.line + 1,
                                       key_node.start_mark.column + 1))
                below.append((value_node, child))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                child = (*path, i)
                out.setdefault(child, (item.start_mark.line + 1, item.start_mark.column + 1))
                below.append((item, child))
        stack.extend(reversed(below))
    return out
