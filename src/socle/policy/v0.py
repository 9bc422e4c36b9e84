"""A small Rego source scanner, the v0 -> v1 rewrite, and source fixes for engine gaps.

Nothing here parses Rego fully. The scanner splits a module into top-level statements (package,
imports, rules) by tracking strings, comments and bracket depth; that is enough to

* find rule names per package (conftest's rule discovery, ``test_*`` discovery for verify),
* rewrite v0 rules to v1 for engines without a v0 parser (OPA through opa-golib): ``p { }``
  gets ``if``, ``deny[msg] { }`` becomes ``deny contains msg if { }``, ``else { }`` becomes
  ``else = true if { }``, and deprecated builtins are renamed,
* patch constructs regorus rejects but OPA accepts (a bodiless function with constant
  arguments, ``f("x")``, becomes ``f("x") := true``).

Positions are kept: rewrites only insert text inside lines, never add or remove lines, so
file:line in error messages still points at the user's file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPEN = "([{"
_CLOSE = ")]}"


@dataclass(frozen=True, slots=True)
class Statement:
    """One top-level statement: its text span, first line, and the depth-0 brace offsets."""

    start: int
    end: int
    line: int
    braces: tuple[int, ...]  # offsets (into the source) of '{' at depth 0


_SPECIAL = re.compile(r'[#"`]')
# a double-quoted string from its opening quote: it ends at the closing quote, at a newline
# (taken with it) or at the end of the source; a backslash escapes whatever follows
_DQ_STRING = re.compile(r'"(?:[^"\\\n]|\\[\s\S])*(?:["\n]|\\?\Z)')
_NOT_NEWLINE = re.compile(r"[^\n]")
_BRACKETS = re.compile(r"[()\[\]{}]")
_SPACE = " \t\r"
# a keyword ending a line that needs more after it (the longest, "contains", has 8 letters)
_OPEN_WORD = re.compile(r"\b(?:if|contains|else|in|not|some|every|with|as)\Z")
_OPEN_ENDS = (",", "=", "+", "-", "*", "/", "|", "&", ":", "(", "[")


def _skip_string(src: str, i: int) -> int:
    """Index just after the string literal starting at ``i``."""
    if src[i] == "`":
        j = src.find("`", i + 1)
        return len(src) if j < 0 else j + 1
    m = _DQ_STRING.match(src, i)
    return m.end() if m else len(src)


def blank_strings_and_comments(src: str) -> str:
    """The source with string contents and comments replaced by spaces (same length)."""
    find = _SPECIAL.search
    m = find(src)
    if m is None:
        return src
    out: list[str] = []
    pos = 0
    n = len(src)
    while m is not None:
        i = m.start()
        if src[i] == "#":
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(src[pos:i])
            out.append(" " * (j - i))
        else:  # a string: its contents blanked, its quotes (and newlines) kept
            j = _skip_string(src, i)
            inner_end = max(i + 1, j - 1)
            inner = src[i + 1:inner_end]
            out.append(src[pos:i + 1])
            out.append(_NOT_NEWLINE.sub(" ", inner) if "\n" in inner else " " * len(inner))
            out.append(src[inner_end:j])
        pos = j
        m = find(src, j)
    out.append(src[pos:])
    return "".join(out)


def statements(src: str, clean: str | None = None) -> list[Statement]:
    """Top-level statements of a module (``clean``: the source already blanked by
    :func:`blank_strings_and_comments`, when the caller has it).

    A statement starts at the first token of a line at bracket depth 0, unless that token is
    ``else`` or ``{`` (the continuation of a rule).
    """
    if clean is None:
        clean = blank_strings_and_comments(src)
    out: list[Statement] = []
    depth = 0
    start = -1
    start_line = 0
    braces: list[int] = []
    brackets = _BRACKETS.finditer
    offset = 0
    for line, text in enumerate(clean.split("\n"), 1):
        body = text.lstrip(_SPACE)
        if not body:
            offset += len(text) + 1
            continue
        i = offset + len(text) - len(body)
        if depth == 0:
            c = body[0]
            continuation = c == "{" or (body.startswith("else") and not (
                len(body) > 4 and (body[4].isalnum() or body[4] == "_")))
            if not (start >= 0 and (c in _CLOSE or continuation or _open_tail(clean, start, i))):
                if start >= 0:
                    out.append(Statement(start, _rstrip(clean, i), start_line, tuple(braces)))
                start, start_line, braces = i, line, []
        for b in brackets(text, i - offset):
            c = b.group()
            if c in _OPEN:
                if c == "{" and depth == 0:
                    braces.append(offset + b.start())
                depth += 1
            elif depth:
                depth -= 1
        offset += len(text) + 1
    if start >= 0:
        out.append(Statement(start, _rstrip(clean, len(clean)), start_line, tuple(braces)))
    return out


def _rstrip(clean: str, end: int) -> int:
    while end > 0 and clean[end - 1] in " \t\r\n":
        end -= 1
    return end


def _open_tail(clean: str, start: int, i: int) -> bool:
    """True when the text before ``i`` ends with an operator that needs a right-hand side."""
    j = i - 1
    while j > start and clean[j] in " \t\r\n":
        j -= 1
    if clean[max(start, j - 1):j + 1].endswith(_OPEN_ENDS):
        return True
    # the last word, with one character before it for the word boundary
    return _OPEN_WORD.search(clean, max(start, j - 8), j + 1) is not None


def package_of(src: str) -> str:
    """The dotted package name (``main`` for ``package main``), or ``""``."""
    clean = blank_strings_and_comments(src)
    m = re.search(r"(?m)^\s*package\s+([A-Za-z_][\w.]*(?:\[\"[^\"]*\"\])*)", clean)
    if not m:
        return ""
    name = m.group(1)
    if "[" in name:  # package a["b"] - rare; take the real text
        real = src[m.start(1):m.end(1)]
        name = re.sub(r'\["([^"]*)"\]', r".\1", real)
    return name


def rule_names(src: str) -> list[tuple[str, int]]:
    """(rule name, line) for each rule statement, in order (duplicates kept)."""
    clean = blank_strings_and_comments(src)
    out: list[tuple[str, int]] = []
    for st in statements(src, clean):
        text = clean[st.start:st.end]
        m = _IDENT.match(text)
        if not m:
            continue
        word = m.group(0)
        if word in ("package", "import"):
            continue
        if word == "default":
            m2 = _IDENT.match(text[m.end():].lstrip())
            if not m2:
                continue
            word = m2.group(0)
        out.append((word, st.line))
    return out


# --- v0 -> v1 --------------------------------------------------------------------------------

_DEPRECATED = {
    "re_match": "regex.match",
    "net.cidr_overlap": "net.cidr_contains",
    "set_diff": "socle.compat.set_diff",
    "any": "socle.compat.any",
    "all": "socle.compat.all",
    "cast_array": "socle.compat.cast_array",
    "cast_set": "socle.compat.cast_set",
    "cast_string": "socle.compat.cast_string",
    "cast_boolean": "socle.compat.cast_boolean",
    "cast_null": "socle.compat.cast_null",
    "cast_object": "socle.compat.cast_object",
}
_CALL = re.compile(r"(?<![\w.])(" + "|".join(re.escape(k) for k in _DEPRECATED) + r")\s*\(")


def _prev_token(clean: str, start: int, i: int) -> str:
    """The significant text just before offset ``i`` (a word or one character)."""
    j = i - 1
    while j >= start and clean[j] in " \t\r\n":
        j -= 1
    if j < start:
        return ""
    if clean[j].isalnum() or clean[j] == "_":
        k = j
        while k > start and (clean[k - 1].isalnum() or clean[k - 1] in "_."):
            k -= 1
        return clean[k:j + 1]
    return clean[j]


def _is_body_brace(clean: str, start: int, i: int) -> bool:
    prev = _prev_token(clean, start, i)
    if prev in ("", "=", ",", "(", "[", ":", "|", "&", "+", "-", "*", "/"):
        return False
    return prev not in ("contains", "in", "with", "as", "not", "some", "every", ":=", "==")


def rewrite_v0(src: str) -> str:
    """Rewrite a v0 module to v1 heuristically (keeps every line where it was)."""
    clean = blank_strings_and_comments(src)
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement)
    for st in statements(src, clean):
        text = clean[st.start:st.end]
        m = _IDENT.match(text)
        if not m or m.group(0) in ("package", "import"):
            continue
        bodies = [b for b in st.braces if _is_body_brace(clean, st.start, b)]
        head_end = bodies[0] if bodies else st.end
        head = clean[st.start:head_end]
        if m.group(0) != "default":
            hm = re.match(r"([A-Za-z_][\w.]*)(\s*)\[(.*)\](\s*)$", head, re.S)
            if hm and "=" not in head[hm.end(1):] and "contains" not in head:
                # deny[msg] -> deny contains msg
                key_start = st.start + hm.start(3)
                key_end = st.start + hm.end(3)
                edits.append((st.start + hm.end(1), key_start, " contains "))
                edits.append((key_end, key_end + 1, ""))
        for b in bodies:
            prev = _prev_token(clean, st.start, b)
            if prev == "if" or prev == "}":
                continue  # already v1, or a second body of the same rule
            if prev == "else":
                edits.append((b, b, "= true if "))
            else:
                edits.append((b, b, "if "))
    for cm in _CALL.finditer(clean):
        edits.append((cm.start(1), cm.end(1), _DEPRECATED[cm.group(1)]))
    return _apply(src, edits)


def rename_deprecated(src: str) -> str:
    """Deprecated v0 builtins (``re_match``, ``any``, ...) renamed to what engines provide."""
    if not _CALL.search(src):
        return src
    clean = blank_strings_and_comments(src)
    edits = [(m.start(1), m.end(1), _DEPRECATED[m.group(1)]) for m in _CALL.finditer(clean)]
    return _apply(src, edits)


def _apply(src: str, edits: list[tuple[int, int, str]]) -> str:
    out = []
    pos = 0
    for start, end, repl in sorted(edits, key=lambda e: (e[0], e[1])):
        if start < pos:
            continue
        out.append(src[pos:start])
        out.append(repl)
        pos = end
    out.append(src[pos:])
    return "".join(out)


def fix_for_regorus(src: str) -> str:
    """Source fixes for constructs regorus rejects and OPA accepts.

    * ``f("x")`` (a function head with no body and no value) becomes ``f("x") := true``.
    """
    if "(" not in src:
        return src
    clean = blank_strings_and_comments(src)
    edits: list[tuple[int, int, str]] = []
    for st in statements(src, clean):
        if st.braces:
            continue
        text = clean[st.start:st.end]
        m = re.match(r"([A-Za-z_][\w.]*)\s*\((.*)\)\s*$", text, re.S)
        if not m or m.group(1) in ("package", "import", "default"):
            continue
        if "=" in text[m.end(1):] and _depth0_has(text, ("=",)):
            continue
        if _closing_paren(text, text.index("(", m.end(1))) != len(text.rstrip()) - 1:
            continue  # `f(x) if g(x)`: the head's parenthesis closes before the end
        edits.append((st.end, st.end, " := true"))
    return _apply(src, edits) if edits else src


def _closing_paren(text: str, start: int) -> int:
    """Index of the parenthesis closing the one at ``start`` (-1 if none)."""
    depth = 0
    for i in range(start, len(text)):
        c = text[i]
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
            if depth == 0:
                return i
    return -1


def _depth0_has(text: str, needles: tuple[str, ...]) -> bool:
    depth = 0
    for c in text:
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
        elif depth == 0 and c in needles:
            return True
    return False


__all__ = ["Statement", "blank_strings_and_comments", "fix_for_regorus", "package_of",
           "rename_deprecated", "rewrite_v0", "rule_names", "statements"]
