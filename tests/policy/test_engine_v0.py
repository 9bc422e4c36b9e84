"""The source scanner and the v0 -> v1 rewrite (no engine needed)."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from socle.policy.v0 import (
    blank_strings_and_comments,
    fix_for_regorus,
    package_of,
    rewrite_v0,
    rule_names,
    statements,
)

V0 = '''package main.sub

# deny[x] { in a comment }
deny[msg] {
  msg := "a { brace in a string"
}

violation[{"msg": m}] { m := "v" }

p = 1 {
  input.a
} else = 2 {
  input.b
} else {
  true
}

obj[k] = v { k := "a"; v := 1 }

default allow = false
f(x) = y { y := x }
g("x")
multi { input.a } { input.b }
q = {"a": 1}
'''


def test_package_and_rule_names() -> None:
    assert package_of(V0) == "main.sub"
    names = [n for n, _ in rule_names(V0)]
    assert names == ["deny", "violation", "p", "obj", "allow", "f", "g", "multi", "q"]
    assert dict(rule_names(V0))["deny"] == 4


def test_rewrite_keeps_lines_and_adds_v1_keywords() -> None:
    out = rewrite_v0(V0)
    assert out.count("\n") == V0.count("\n")
    assert "deny contains msg if {" in out
    assert 'violation contains {"msg": m} if {' in out
    assert "} else = 2 if {" in out and "} else = true if {" in out
    assert 'obj[k] = v if {' in out
    assert "multi if { input.a } { input.b }" in out
    assert 'q = {"a": 1}' in out
    assert "a { brace in a string" in out
    assert "# deny[x] { in a comment }" in out


def test_rewrite_leaves_v1_alone() -> None:
    v1 = "package main\n\ndeny contains msg if {\n  msg := 1\n}\n\nok if input.x\n"
    assert rewrite_v0(v1) == v1


def test_deprecated_builtins_renamed() -> None:
    out = rewrite_v0('package a\np { re_match("a", "a"); any([true]) }\n')
    assert 'regex.match("a", "a")' in out and "socle.compat.any([true])" in out


def test_bodiless_constant_function_gets_a_value() -> None:
    assert 'g("x") := true' in fix_for_regorus(V0)
    assert fix_for_regorus("package a\nf(x) := 1\n") == "package a\nf(x) := 1\n"


def test_one_line_rule_whose_body_is_a_call_is_left_alone() -> None:
    from socle.policy.engine import create_engine

    src = ('package p\nimport rego.v1\n'
           'pinned(image) if contains(image, "@sha256:")\n'
           'deny contains image if { some image in input.images; not pinned(image) }\n')
    engine = create_engine("regorus", "v1")
    engine.add_policy("p.rego", src)
    assert engine.eval_rule("p.deny", {"images": ["a:1", "b@sha256:00"]}) == ["a:1"]


# --- the scanner against its first, character-by-character form --------------------------------
#
# blank_strings_and_comments and statements run over every module socle loads (twice for the
# regorus engine: its source fix, and the rule names), so they were rewritten to jump between
# the characters that matter. The first form, kept here as the oracle, walked every character.

def _old_skip_string(src: str, i: int) -> int:
    quote = src[i]
    n = len(src)
    i += 1
    if quote == "`":
        j = src.find("`", i)
        return n if j < 0 else j + 1
    while i < n:
        c = src[i]
        if c == "\\":
            i += 2
            continue
        if c == '"' or c == "\n":
            return i + 1
        i += 1
    return n


def _old_blank(src: str) -> str:
    out = list(src)
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "#":
            j = src.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = " "
            i = j
        elif c == '"' or c == "`":
            j = _old_skip_string(src, i)
            for k in range(i + 1, max(i + 1, j - 1)):
                if out[k] != "\n":
                    out[k] = " "
            i = j
        else:
            i += 1
    return "".join(out)


def _old_open_tail(clean: str, start: int, i: int) -> bool:
    j = i - 1
    while j > start and clean[j] in " \t\r\n":
        j -= 1
    tail = clean[max(start, j - 1):j + 1]
    return tail.endswith((",", "=", "+", "-", "*", "/", "|", "&", ":", "(", "[")) or \
        bool(re.search(r"\b(if|contains|else|in|not|some|every|with|as)$", clean[start:j + 1]))


def _old_statements(src: str) -> list[tuple[int, int, int, tuple[int, ...]]]:
    clean = _old_blank(src)
    out: list[tuple[int, int, int, tuple[int, ...]]] = []
    depth, start, start_line, line = 0, -1, 0, 1
    braces: list[int] = []
    at_line_start = True
    i, n = 0, len(clean)

    def rstrip(end: int) -> int:
        while end > 0 and clean[end - 1] in " \t\r\n":
            end -= 1
        return end

    while i < n:
        c = clean[i]
        if c == "\n":
            line += 1
            at_line_start = True
            i += 1
            continue
        if c in " \t\r":
            i += 1
            continue
        if at_line_start and depth == 0:
            rest = clean[i:i + 5]
            continuation = c == "{" or (rest.startswith("else") and not
                                        (len(rest) > 4 and (rest[4].isalnum() or rest[4] == "_")))
            if not (start >= 0 and (c in ")]}" or continuation
                                    or _old_open_tail(clean, start, i))):
                if start >= 0:
                    out.append((start, rstrip(i), start_line, tuple(braces)))
                start, start_line, braces = i, line, []
        at_line_start = False
        if c in "([{":
            if c == "{" and depth == 0:
                braces.append(i)
            depth += 1
        elif c in ")]}":
            depth = max(0, depth - 1)
        i += 1
    if start >= 0:
        out.append((start, rstrip(n), start_line, tuple(braces)))
    return out


def _scan_both(src: str) -> None:
    assert blank_strings_and_comments(src) == _old_blank(src)
    assert [(s.start, s.end, s.line, s.braces) for s in statements(src)] == _old_statements(src)


_REGO_BITS = st.sampled_from([
    "package p\n", "import rego.v1\n", "deny contains msg if {", "}", "{", "(", ")", "[", "]",
    "\n", "\n\n", "  ", "\t", "\r\n", "# a { comment\n", "#", '"', '"a\\"b"', '"x { y"', "\\",
    "\\\n", "`raw\n{ text`", "`", "else", "else ", "elsewhere", "else_x", " := ", "=", ",",
    "|", "+", "contains", " contains", "xcontains", "if", " if", " in", " not", " some",
    " every", " with", " as", "as", "f(x)", "g(\"x\")", "msg := 1", "x", ":", "é", "\f", "\v",
])


@settings(max_examples=400, deadline=None)
@given(st.lists(_REGO_BITS, max_size=40).map("".join))
def test_scanner_agrees_with_its_first_form_on_generated_text(src: str) -> None:
    _scan_both(src)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from('ab #"`\\\n\r\t{}()[]=,:|e'), max_size=80))
def test_scanner_agrees_with_its_first_form_on_random_characters(src: str) -> None:
    _scan_both(src)


def test_scanner_agrees_with_its_first_form_on_every_policy_in_the_repository() -> None:
    root = Path(__file__).resolve().parents[2]
    files = [p for d in ("src", "tests", "bench", "examples") for p in (root / d).rglob("*.rego")]
    assert len(files) > 80  # the bundled controls alone
    for path in files:
        _scan_both(path.read_text(encoding="utf-8", errors="replace"))
