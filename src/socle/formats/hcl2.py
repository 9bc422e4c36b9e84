"""HCL2 (Terraform ``.tf``/``.tfvars``, ``.hcl``), in the shape conftest gives policies.

conftest converts HCL2 to JSON with the rules of tmccombs/hcl2json; socle parses with
``python-hcl2``'s grammar and converts its syntax tree by the same rules:

* a block is a list of bodies under its type, nested under each label:
  ``resource "aws_s3_bucket" "b" {...}`` is ``input.resource.aws_s3_bucket.b[0]``, and a
  block with no label, such as ``versioning {...}``, is ``versioning[0]``; repeated blocks
  add to the list;
* numbers, booleans and ``null`` are JSON values, ``-1`` and ``!true`` too;
* strings are strings; interpolations stay in them as written (``"${var.name}"``), and
  ``%{if}``/``%{for}`` directives are rebuilt as ``%{if cond}...%{endif}``; a string that is one
  interpolation becomes that expression (``"${true}"`` is ``true``);
* heredocs are strings (``<<-`` removes the common indentation);
* lists and objects are lists and objects; an object key is its name, or ``${...}`` for an
  expression key;
* every other expression (references, function calls, operators, conditionals, ``for``) is
  its source text wrapped in ``${...}``.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

import hcl2 as _hcl2
from lark import Token, Tree
from lark.exceptions import LarkError, UnexpectedEOF, UnexpectedInput

from socle.core.document import Document, PathKey, PositionMap
from socle.core.errors import InputError
from socle.formats import yaml as _yaml

name = "hcl2"
extensions = (".tf", ".tfvars", ".hcl")

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", re.DOTALL)
_LITERALS = frozenset({"int_lit", "float_lit", "literal_value"})
_SKIP = "new_line_or_comment"
_DIRECTIVE = re.compile(
    r"%\{(~?)\s*(?:(if)\s+(.*?)|(else)|(endif)|(for)\s+([A-Za-z_][\w-]*)"
    r"(?:\s*,\s*([A-Za-z_][\w-]*))?\s+in\s+(.*?)|(endfor))\s*(~?)\}\Z", re.DOTALL)


class _Fail(Exception):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


Part = tuple[str, Any]  # ("lit", text) | ("expr", tree, source) | ("if"|"for"..., ...)


def _unescape(text: str) -> str:
    def one(hit: re.Match[str]) -> str:
        code = hit.group(1)
        if code[0] in "uU" and len(code) > 1:
            return chr(int(code[1:], 16))
        return _ESCAPES.get(code, "\\" + code)

    return _ESCAPE.sub(one, text)


_MULTI_LINE = ("Invalid multi-line string; Quoted strings may not be split over multiple "
               "lines. To produce a multi-line string, either use the \\n escape to represent a "
               "newline character or use the \"heredoc\" multi-line template syntax.")
_HEX = frozenset("0123456789abcdefABCDEF")
_MISSING_NEWLINE = {
    "attribute": "Missing newline after argument; An argument definition must end with a "
                 "newline.",
    "block": "Missing newline after block definition; A block definition must end with a "
             "newline.",
}


def _check_literal(raw: str, line: int) -> None:
    """HCL's checks of a quoted string's literal text (python-hcl2 takes what they refuse): no
    line break, and only the escapes \\n \\r \\t \\" \\\\ \\uNNNN \\UNNNNNNNN."""
    if "\n" in raw:
        raise _Fail(_MULTI_LINE, line)
    at = raw.find("\\")
    while at >= 0:
        selector = raw[at + 1:at + 2]
        if selector in ("u", "U"):
            size = 4 if selector == "u" else 8
            digits = raw[at + 2:at + 2 + size]
            if len(digits) != size or not _HEX.issuperset(digits):
                count = "four" if size == 4 else "eight"
                raise _Fail(f"Invalid escape sequence; The \\{selector} escape sequence must be "
                            f"followed by {count} hexadecimal digits.", line)
            code = int(digits, 16)
            if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:  # (no UTF-8 for it)
                raise _Fail(f"Invalid escape sequence; Cannot encode character U+{code:x} in "
                            "UTF-8.", line)
            at = raw.find("\\", at + 2 + size)
            continue
        if selector not in _ESCAPES:
            raise _Fail(f'Invalid escape sequence; The symbol "{selector}" is not a valid '
                        "escape sequence selector.", line)
        at = raw.find("\\", at + 2)


_FLOAT_MAX = Decimal(sys.float_info.max)


class _OutOfRange(ValueError):
    pass


def _number(text: str) -> int | float:
    """A number literal's value; _OutOfRange past a float's range (conftest reads numbers
    into Go floats), checked before any int is made of it (``1e99999999`` would take for
    ever)."""
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the grammar only lets numbers through
        return float(text)
    if (value.is_finite() and value.adjusted() > 308) or abs(value) > _FLOAT_MAX:
        raise _OutOfRange(text)
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _number_text(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _children(tree: Tree[Any]) -> list[Any]:
    return [c for c in tree.children if not (isinstance(c, Tree) and c.data == _SKIP)]


def _subtrees(tree: Tree[Any]) -> list[Tree[Any]]:
    return [c for c in _children(tree) if isinstance(c, Tree)]


class _Converter:
    def __init__(self, text: str) -> None:
        self.text = text
        self.where: PositionMap = {}

    # --- source ranges ---------------------------------------------------------------------

    def _tokens(self, node: Any) -> list[Token]:
        if isinstance(node, Token):
            return [node]
        out: list[Token] = []
        for child in node.children:
            if isinstance(child, Tree) and child.data == _SKIP:
                continue
            out.extend(self._tokens(child))
        return out

    def source(self, node: Any) -> str:
        tokens = [t for t in self._tokens(node) if t.start_pos is not None]
        if not tokens:
            return ""
        start = tokens[0].start_pos
        end = tokens[-1].end_pos
        assert start is not None and end is not None
        return self.text[start:end].strip()

    def wrap(self, node: Any) -> str:
        return "${" + self.source(node) + "}"

    @staticmethod
    def line(node: Any) -> int:
        if isinstance(node, Token):
            return node.line or 1
        meta = getattr(node, "meta", None)
        return getattr(meta, "line", 1) if meta is not None and not meta.empty else 1

    # --- bodies and blocks ---------------------------------------------------------------

    def body(self, tree: Tree[Any], path: PathKey) -> dict[str, Any]:
        # (a block's body over several lines ends its last definition with a line break too:
        # "a = 1}" is refused, "b { c = 1 }" on one line is not)
        multi_line = any(isinstance(c, Tree) and c.data == _SKIP for c in tree.children)
        if path and not multi_line:
            self.check_single_line(tree)
        elif path:
            first = next((c for c in tree.children if isinstance(c, Tree)), None)
            if first is not None and first.data in ("attribute", "block"):
                # (a definition on the "{" line makes a single-line block, closed there)
                raise _Fail("Invalid single-argument block definition; An argument definition "
                            "on the same line as its containing block creates a single-line "
                            "block definition, which must also be closed on the same line. "
                            "Place the block's closing brace immediately after the argument "
                            "definition.", self.line(first))
        self.check_newlines(tree, closed=bool(path) and multi_line)
        out: dict[str, Any] = {}
        blocks = []
        for item in _subtrees(tree):
            if item.data == "attribute":
                key = self.name_of(_children(item)[0])
                if key in out:
                    raise _Fail(f"attribute {key!r} redefined", self.line(item))
                out[key] = self.expression(_children(item)[2])
                self.where[(*path, key)] = (self.line(item), 1)
            elif item.data == "block":
                blocks.append(item)
        for block in blocks:
            self.block(block, out, path)
        return out

    def check_newlines(self, tree: Tree[Any], closed: bool = False) -> None:
        """HCL ends every argument and block definition with a line break (python-hcl2 takes
        ``a = 1 b = 2`` on one line; Terraform and conftest refuse it); ``closed``: the last one
        too (a block's body over several lines)."""
        item, previous = self.unseparated(tree, ("attribute", "block"), closed)
        if previous is not None:
            raise _Fail(_MISSING_NEWLINE[previous.data],
                        self.line(item if item is not None else previous))

    def check_single_line(self, tree: Tree[Any]) -> None:
        """A block on one line (``b { a = 1 }``) holds one argument at most, no block."""
        items = [c for c in tree.children if isinstance(c, Tree) and c.data in ("attribute",
                                                                              "block")]
        for item in items:
            if item.data == "block":
                name = self.name_of(_children(item)[0])
                raise _Fail("Argument definition required; A single-line block definition can "
                            "contain only a single argument. If you meant to define argument "
                            f'"{name}", use an equals sign to assign it a value. To define a '
                            "nested block, place it on a line of its own within its parent "
                            "block.", self.line(item))
        if len(items) > 1:
            raise _Fail("Invalid single-argument block definition; A single-line block "
                        "definition must end with a closing brace immediately after its single "
                        "argument definition.", self.line(items[1]))

    def check_separators(self, node: Tree[Any]) -> None:
        """A comma or a line break between an object's elements (python-hcl2 takes
        ``{a = 1  b = 2}``; HCL refuses it)."""
        item, _ = self.unseparated(node, ("object_elem",), False)
        if item is not None:
            raise _Fail("Missing attribute separator; Expected a newline or comma to mark the "
                        "beginning of the next attribute.", self.line(item))

    def unseparated(self, tree: Tree[Any], kinds: tuple[str, ...], closed: bool
                    ) -> tuple[Tree[Any] | None, Tree[Any] | None]:
        """(the first of ``tree``'s children of ``kinds`` that follows another on the same line,
        that other), or, when ``closed``, (None, the last one) if no line break ends it; (None,
        None) when all are apart. A comma separates too (objects)."""
        previous: Tree[Any] | None = None
        for child in tree.children:
            if isinstance(child, Token):
                if child.type == "COMMA" or str(child) == ",":
                    previous = None
                continue
            if child.data == _SKIP:
                text = "".join(str(t) for t in self._tokens(child))
                if "\n" in text or text.lstrip().startswith(("#", "//")):
                    previous = None
                continue
            if child.data in kinds:
                if previous is not None:
                    return child, previous
                tokens = self._tokens(child)
                # (a heredoc's token takes the line break after its end marker along)
                previous = None if tokens and str(tokens[-1]).endswith("\n") else child
        return None, previous if closed else None

    def name_of(self, node: Any) -> str:
        if isinstance(node, Token):
            return str(node)
        if node.data == "string":
            parts = self.string_parts(node)
            if any(kind != "lit" for kind, *_ in parts):
                raise _Fail("block labels cannot contain interpolations", self.line(node))
            return "".join(text for _, text in parts)
        return str(self._tokens(node)[0])

    def block(self, tree: Tree[Any], out: dict[str, Any], path: PathKey) -> None:
        kids = list(tree.children)
        brace = next((i for i, c in enumerate(kids)
                      if isinstance(c, Token) and c.type == "LBRACE"), None)
        if brace is not None and any(isinstance(c, Tree) and c.data == _SKIP
                                     for c in kids[:brace]):
            raise _Fail('Invalid block definition; A block definition must have block content '
                        'delimited by "{" and "}", starting on the same line as the block '
                        "header.", self.line(tree))
        parts = [c for c in _children(tree) if not isinstance(c, Token)]
        names = [self.name_of(p) for p in parts if p.data != "body"]
        body_tree = next(p for p in parts if p.data == "body")
        key, labels = names[0], names[1:]
        where: PathKey = (*path, key)
        target = out
        for label in labels:
            inner = target.setdefault(key, {})
            if not isinstance(inner, dict):
                raise _Fail(f"block {'.'.join(names)} clashes with an attribute",
                            self.line(tree))
            target, key = inner, label
            where = (*where, label)
        current = target.setdefault(key, [])
        if not isinstance(current, list):
            raise _Fail(f"block {'.'.join(names)} clashes with an attribute or labelled block",
                        self.line(tree))
        where = (*where, len(current))
        self.where.setdefault(where[:-1], (self.line(tree), 1))
        self.where[where] = (self.line(tree), 1)
        current.append(self.body(body_tree, where))

    # --- expressions -----------------------------------------------------------------------

    def unwrap(self, node: Any) -> Any:
        """The meaningful node under ``expr_term`` layers (a parenthesised term stays)."""
        while isinstance(node, Tree) and node.data == "expr_term":
            kids = _children(node)
            if len(kids) != 1 or isinstance(kids[0], Token):
                return node
            node = kids[0]
        return node

    def literal(self, node: Tree[Any]) -> Any:
        token = _children(node)[0]
        if node.data == "literal_value":
            return {"true": True, "false": False, "null": None}[str(token)]
        try:
            return _number(str(token))
        except _OutOfRange:
            # conftest reads the JSON of a file into Go floats: it cannot read this one
            raise _Fail(f"the number {token} is larger than a float can hold "
                        "(conftest cannot read it)", getattr(token, "line", None) or 1) from None

    def expression(self, node: Any) -> Any:
        node = self.unwrap(node)
        if isinstance(node, Token):
            return self.wrap(node)
        kind = node.data
        if kind in _LITERALS:
            return self.literal(node)
        if kind == "string":
            return self.template(self.string_parts(node))
        if kind in ("heredoc_template", "heredoc_template_trim"):
            return self.template(self.heredoc_parts(str(_children(node)[0]),
                                                    kind.endswith("_trim"), self.line(node)))
        if kind == "tuple":
            return [self.expression(c) for c in _subtrees(node)]
        if kind == "object":
            self.check_separators(node)
            out: dict[str, Any] = {}
            for elem in _subtrees(node):
                key_node, value_node = _subtrees(elem)
                out[self.key(key_node)] = self.expression(value_node)
            return out
        if kind == "unary_op":
            op, operand = _children(node)
            inner = self.unwrap(operand)
            if isinstance(inner, Tree) and inner.data in _LITERALS:
                value = self.literal(inner)
                if str(op) == "-" and isinstance(value, int | float) and not isinstance(
                        value, bool):
                    return -value
                if str(op) == "!" and isinstance(value, bool):
                    return not value
        return self.wrap(node)

    def key(self, node: Tree[Any]) -> str:
        kids = _children(node)
        if len(kids) == 1 and isinstance(kids[0], Tree) and kids[0].data == "keyword":
            return str(_children(kids[0])[0])
        inner = self.unwrap(kids[0])
        if isinstance(inner, Tree) and self.is_traversal(inner):
            return self.source(inner)
        return self.string_part(inner)

    def is_traversal(self, node: Tree[Any]) -> bool:
        if node.data == "identifier":
            return True
        if node.data == "get_attr_expr_term":
            head = self.unwrap(_children(node)[0])
            return isinstance(head, Tree) and self.is_traversal(head)
        return False

    # --- templates -------------------------------------------------------------------------

    def string_parts(self, node: Tree[Any]) -> list[Part]:
        parts: list[Part] = []
        for child in _subtrees(node):
            piece = _children(child)[0]
            if isinstance(piece, Token):
                if piece.type in ("ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE"):
                    parts.append(("lit", str(piece)[1:]))
                else:
                    _check_literal(str(piece), self.line(piece))
                    parts.append(("lit", _unescape(str(piece))))
                continue
            if piece.data == "interpolation":
                expr = _subtrees(piece)[0]
                parts.append(("expr", expr))
            elif piece.data == "template_if_start":
                tokens = [str(t) for t in _children(piece) if isinstance(t, Token)]
                parts.append(("if", (self.source(_subtrees(piece)[0]), tokens[1] == "~",
                                     tokens[-2] == "~")))
            elif piece.data == "template_for_start":
                ids = [self.source(t) for t in _subtrees(piece) if t.data == "identifier"]
                coll = next(t for t in _subtrees(piece) if t.data != "identifier")
                tokens = [str(t) for t in _children(piece) if isinstance(t, Token)]
                parts.append(("for", (ids, self.source(coll), tokens[1] == "~",
                                      tokens[-2] == "~")))
            else:
                tokens = [str(t) for t in _children(piece) if isinstance(t, Token)]
                word = piece.data.removeprefix("template_")
                parts.append((word, (tokens[1] == "~", tokens[-2] == "~")))
        return self.merge(parts)

    @staticmethod
    def merge(parts: list[Part]) -> list[Part]:
        merged: list[Part] = []
        for part in parts:
            if part[0] == "lit" and merged and merged[-1][0] == "lit":
                merged[-1] = ("lit", merged[-1][1] + part[1])
            else:
                merged.append(part)
        return merged

    def heredoc_parts(self, token: str, flush: bool, line: int) -> list[Part]:
        body = token.split("\n", 1)[1] if "\n" in token else ""
        body = body.rstrip("\n")
        body = body[: body.rfind("\n") + 1] if "\n" in body else ""
        if flush:
            rows = body.split("\n")[:-1] if body else []
            widths = [len(r) - len(r.lstrip()) for r in rows if r.strip()]
            cut = min(widths, default=0)
            body = "".join((r[cut:] if r.strip() else r) + "\n" for r in rows)
        return self.scan_template(body, line)

    def scan_template(self, text: str, line: int) -> list[Part]:
        """Split heredoc text into literal pieces, interpolations and directives."""
        parts: list[Part] = []
        literal: list[str] = []
        i, n = 0, len(text)
        while i < n:
            if text.startswith(("$${", "%%{"), i):
                literal.append(text[i + 1:i + 3])
                i += 3
                continue
            if text.startswith(("${", "%{"), i):
                end = self.closing_brace(text, i + 2, line)
                inner = text[i + 2:end]
                if literal:
                    parts.append(("lit", "".join(literal)))
                    literal = []
                if text[i] == "$":
                    parts.append(("expr", self.parse_expression(inner.strip("~ \t\n"), line)))
                else:
                    parts.append(self.directive(text[i:end + 1], line))
                i = end + 1
                continue
            literal.append(text[i])
            i += 1
        if literal:
            parts.append(("lit", "".join(literal)))
        return parts

    @staticmethod
    def closing_brace(text: str, start: int, line: int) -> int:
        depth, i, n = 0, start, len(text)
        while i < n:
            c = text[i]
            if c == '"':
                i += 1
                while i < n and text[i] != '"':
                    i += 2 if text[i] == "\\" else 1
            elif c == "{":
                depth += 1
            elif c == "}":
                if depth == 0:
                    return i
                depth -= 1
            i += 1
        raise _Fail("unclosed template sequence in heredoc", line)

    def directive(self, text: str, line: int) -> Part:
        hit = _DIRECTIVE.match(text)
        if hit is None:
            raise _Fail(f"invalid template directive {text!r}", line)
        left, right = hit.group(1) == "~", hit.group(11) == "~"
        if hit.group(2):
            return ("if", (hit.group(3).strip(), left, right))
        if hit.group(6):
            ids = [hit.group(7)] + ([hit.group(8)] if hit.group(8) else [])
            return ("for", (ids, hit.group(9).strip(), left, right))
        word = next(w for w in (hit.group(4), hit.group(5), hit.group(10)) if w)
        return (word, (left, right))

    def parse_expression(self, source: str, line: int) -> Tree[Any]:
        try:
            tree = _hcl2.parses_to_tree(f"x = {source}\n")
        except LarkError:
            raise _Fail(f"invalid expression in heredoc: {source!r}", line) from None
        attribute = _subtrees(_subtrees(tree)[0])[0]
        sub = _Converter(f"x = {source}\n")
        expr = _children(attribute)[2]
        return Tree("detached", [expr, sub])  # keeps the text its positions refer to

    def template(self, parts: list[Part]) -> Any:
        parts = self.strip_markers(parts)
        if all(kind == "lit" for kind, *_ in parts):
            return unicodedata.normalize("NFC", "".join(p[1] for p in parts))
        if len(parts) == 1 and parts[0][0] == "expr":
            return self.detached(parts[0][1], lambda c, e: c.expression(e))
        return unicodedata.normalize("NFC", self.render(parts))

    @staticmethod
    def strip_markers(parts: list[Part]) -> list[Part]:
        out = list(parts)
        for i, (kind, payload) in enumerate(out):
            if kind in ("lit", "expr"):
                continue
            left, right = payload[-2], payload[-1]
            if left and i > 0 and out[i - 1][0] == "lit":
                out[i - 1] = ("lit", out[i - 1][1].rstrip())
            if right and i + 1 < len(out) and out[i + 1][0] == "lit":
                out[i + 1] = ("lit", out[i + 1][1].lstrip())
        return out

    def detached(self, expr: Any, use: Any) -> Any:
        if isinstance(expr, Tree) and expr.data == "detached":
            inner, converter = expr.children
            return use(converter, inner)
        return use(self, expr)

    def render(self, parts: list[Part]) -> str:
        out: list[str] = []
        stack: list[tuple[str, Any, list[str], list[str] | None]] = []
        for kind, payload in parts:
            target = out if not stack else (stack[-1][3] if stack[-1][3] is not None
                                            else stack[-1][2])
            if kind == "lit":
                target.append(payload)
            elif kind == "expr":
                target.append(self.detached(payload, lambda c, e: c.string_part(e)))
            elif kind in ("if", "for"):
                stack.append((kind, payload, [], None))
            elif kind == "else" and stack and stack[-1][0] == "if":
                top = stack.pop()
                stack.append((top[0], top[1], top[2], []))
            elif kind in ("endif", "endfor") and stack and stack[-1][0] == kind[3:]:
                opened, head, first, second = stack.pop()
                target = out if not stack else (stack[-1][3] if stack[-1][3] is not None
                                                else stack[-1][2])
                if opened == "if":
                    text = "%{if " + head[0] + "}" + "".join(first)
                    if second:
                        text += "%{else}" + "".join(second)
                    target.append(text + "%{endif}")
                else:
                    names, coll = head[0], head[1]
                    target.append("%{for " + ", ".join(names) + " in " + coll + "}"
                                  + "".join(first) + "%{endfor}")
            else:
                raise _Fail(f"unbalanced template directive %{{{kind}}}", 1)
        if stack:
            raise _Fail(f"template directive %{{{stack[-1][0]}}} is never closed", 1)
        return "".join(out)

    def string_part(self, node: Any) -> str:
        """hcl2json's convertStringPart: an interpolated expression as template text."""
        node = self.unwrap(node)
        if isinstance(node, Tree):
            if node.data in ("int_lit", "float_lit"):
                return _number_text(self.literal(node))
            if node.data == "literal_value" and str(_children(node)[0]) != "null":
                return str(_children(node)[0])
            if node.data == "string":
                value = self.template(self.string_parts(node))
                return value if isinstance(value, str) else self.wrap(node)
            if node.data == "conditional":
                cond, yes, no = _subtrees(node)
                text = "%{if " + self.source(cond) + "}" + self.string_part(yes)
                other = self.string_part(no)
                if other:
                    text += "%{else}" + other
                return text + "%{endif}"
        return self.wrap(node)


def _error(err: Exception, text: str) -> tuple[str, int, int | None]:
    if isinstance(err, UnexpectedEOF):
        return "unexpected end of file", text.count("\n") + 1, None
    if isinstance(err, UnexpectedInput):
        line = err.line if isinstance(err.line, int) and err.line > 0 else 1
        column = err.column if isinstance(err.column, int) and err.column > 0 else None
        found = str(getattr(err, "token", None) or getattr(err, "char", None) or "")
        if not found:
            detail = "syntax error"
        elif not found.strip():
            detail = "unexpected end of line"
        else:
            detail = f"unexpected {found.strip().splitlines()[0][:40]!r}"
        return detail, line, column
    return str(err).splitlines()[0] if str(err) else type(err).__name__, 1, None


_LONE_CR = re.compile(r"\r(?!\n)")


def _lone_cr(text: str, file: str) -> None:
    """HCL reads a CR only as part of CRLF (python-hcl2 takes it as a space): outside a
    comment, one alone is an error."""
    for hit in _LONE_CR.finditer(text):
        start = text.rfind("\n", 0, hit.start()) + 1
        before = text[start:hit.start()]
        if "#" in before or "//" in before:
            continue  # (in a comment, most likely: HCL takes it there)
        raise InputError("Invalid character; This character is not used within the language.",
                         file, text.count("\n", 0, hit.start()) + 1, hit.start() - start + 1)


def convert(text: str, file: str) -> tuple[dict[str, Any], PositionMap]:
    """HCL2 text -> (hcl2json object, JSON path -> position)."""
    if "\r" in text:
        _lone_cr(text, file)
    source = text if text.endswith("\n") else text + "\n"
    try:
        tree = _hcl2.parses_to_tree(source)
    except Exception as err:  # lark's errors, and python-hcl2's own
        message, line, column = _error(err, source)
        raise InputError(f"malformed HCL2: {message}", file, line, column) from None
    converter = _Converter(source)
    try:
        obj = _yaml.read_within_depth(lambda: converter.body(_subtrees(tree)[0], ()), file)
    except _Fail as err:
        raise InputError(err.message, file, err.line) from None
    return obj, converter.where


def parse(data: bytes, path: str) -> list[Document]:
    text = _yaml.decode(data, path)
    if not text.strip():
        return []
    obj, where = convert(text, path)
    return [Document(obj=obj, file=path, index=0, line=1, text=text, format=name,
                     _locate=lambda _text: where)]
