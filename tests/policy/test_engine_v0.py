"""The source scanner and the v0 -> v1 rewrite (no engine needed)."""

from __future__ import annotations

from socle.policy.v0 import fix_for_regorus, package_of, rewrite_v0, rule_names

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
