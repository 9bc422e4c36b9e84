"""The engine contract, for every installed engine (opa is skipped when not importable)."""

from __future__ import annotations

from pathlib import Path

import pytest

from socle.policy.engine import PolicyError, available, create_engine

ENGINES = [pytest.param("regorus"),
           pytest.param("opa", marks=pytest.mark.skipif(not available("opa"),
                                                        reason="opa-golib not installed"))]

POLICY = """package main

deny contains msg if {
	input.kind == "Pod"
	msg := sprintf("pod %s", [input.metadata.name])
}

warn contains {"msg": "meta", "level": 2} if input.kind == "Pod"

hash := crypto.sha256("abc")

jwt := io.jwt.decode("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtZSJ9.c2ln")

flag("on")

on if flag("on")
"""


@pytest.fixture(params=ENGINES)
def engine_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_rules_are_evaluated_per_input_without_reloading(engine_name: str) -> None:
    e = create_engine(engine_name)
    e.add_policy("policy/a.rego", POLICY)
    e.prepare()
    first = e.eval_rules(["main.deny", "main.warn"], {"kind": "Pod", "metadata": {"name": "a"}})
    second = e.eval_rules(["main.deny", "main.warn"], {"kind": "Service"})
    assert first == {"main.deny": ["pod a"], "main.warn": [{"level": 2, "msg": "meta"}]}
    assert second == {"main.deny": [], "main.warn": []}


def test_undefined_and_missing_rules_are_none(engine_name: str) -> None:
    e = create_engine(engine_name)
    e.add_policy("p.rego", "package main\nx := 1 if input.a\n")
    assert e.eval_rule("main.x", {}) is None
    assert e.eval_rule("main.nothing", {}) is None
    assert e.eval_rule("main.x", {"a": True}) == 1


def test_gap_builtins_and_bodiless_functions(engine_name: str) -> None:
    e = create_engine(engine_name)
    e.add_policy("p.rego", POLICY)
    assert e.eval_rule("main.hash", None) == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    header, payload, _sig = e.eval_rule("main.jwt", None)
    assert header == {"alg": "HS256"} and payload == {"sub": "me"}
    assert e.eval_rule("main.on", None) is True


def test_custom_builtin(engine_name: str) -> None:
    e = create_engine(engine_name)
    e.add_builtin("shout", 1, lambda s: s.upper() + "!")
    e.add_policy("p.rego", 'package main\nx := shout("hi")\n')
    assert e.eval_rule("main.x", None) == "HI!"


def test_data_is_merged_under_data(engine_name: str) -> None:
    e = create_engine(engine_name)
    e.add_data({"lists": {"allowed": ["a"]}})
    e.add_policy("p.rego", 'package main\nok if "a" in data.lists.allowed\n')
    assert e.eval_rule("main.ok", None) is True


def test_parse_error_names_file_and_line(engine_name: str) -> None:
    e = create_engine(engine_name)
    with pytest.raises(PolicyError) as info:
        e.add_policy("policy/bad.rego", "package main\n\ndeny contains msg if {\n  msg := \n}\n")
        e.prepare()
    err = info.value
    assert err.file == "policy/bad.rego"
    assert err.line in (4, 5)
    assert "\n" not in str(err)


def test_v0_policies(engine_name: str) -> None:
    e = create_engine(engine_name, rego_version="v0")
    e.add_policy("v0.rego", 'package main\ndeny[msg] { re_match("^a", input.x); msg := "m" }\n'
                            'p = 1 { input.x == "z" } else = 2 { true }\n')
    assert e.eval_rule("main.deny", {"x": "abc"}) == ["m"]
    assert e.eval_rule("main.p", {"x": "abc"}) == 2


def test_v1_rejects_v0_syntax(engine_name: str) -> None:
    e = create_engine(engine_name)
    with pytest.raises(PolicyError):
        e.add_policy("v0.rego", "package main\ndeny[msg] { msg := 1 }\n")
        e.prepare()
        e.eval_rule("main.deny", {})


def test_queries_and_coverage(engine_name: str) -> None:
    e = create_engine(engine_name)
    e.add_policy("p.rego", "package main\nx if {\n  input.a == 1\n}\ny if {\n  input.b\n}\n")
    assert e.eval_query("data.main.x", {"a": 1}) == [True]
    values, cov = e.eval_with_coverage("data.main.x", {"a": 1})
    assert values == [True]
    covered, missed = cov["p.rego"]
    assert 3 in covered and 6 in missed


def test_prints_are_collected(engine_name: str) -> None:
    e = create_engine(engine_name)
    e.add_policy("p.rego", 'package main\nx if {\n  print("hello", input.a)\n}\n')
    e.eval_rule("main.x", {"a": 7})
    assert any("hello 7" in p for p in e.take_prints())


def test_big_integers_in_input(engine_name: str) -> None:
    e = create_engine(engine_name)
    e.add_policy("p.rego", "package main\nbig if input.n > 10\n")
    assert e.eval_rule("main.big", {"n": 2**70}) is True


def test_unknown_engine_and_version() -> None:
    with pytest.raises(PolicyError):
        create_engine("nope")
    with pytest.raises(PolicyError):
        create_engine("regorus", rego_version="v2")


# --- regorus: modules parsed before are not parsed again until regorus is used ---------------


def _counting_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from socle.policy import engine_regorus

    parsed: list[str] = []
    real = engine_regorus.RegorusEngine._parse

    def parse(self: engine_regorus.RegorusEngine, path: str, src: str) -> None:
        parsed.append(path)
        real(self, path, src)

    monkeypatch.setattr(engine_regorus.RegorusEngine, "_parse", parse)
    return parsed


def test_a_module_parsed_before_is_parsed_when_used(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCLE_CACHE_DIR", str(tmp_path))
    parsed = _counting_parses(monkeypatch)
    first = create_engine("regorus", "v1")
    first.add_policy("p.rego", POLICY)
    assert parsed == ["p.rego"]
    again = create_engine("regorus", "v1")
    again.add_policy("p.rego", POLICY)
    again.add_policy("q.rego", "package q\n\nx := data.main.hash\n")  # new: parsed now
    assert parsed == ["p.rego", "q.rego"]
    assert again.modules()["p.rego"] == first.modules()["p.rego"]  # fixed ("flag(...) := true")
    assert again.take_prints() == [] and parsed == ["p.rego", "q.rego"]  # no evaluation yet
    pod = {"kind": "Pod", "metadata": {"name": "a"}}
    assert again.eval_rule("main.deny", pod) == ["pod a"]  # regorus used: p.rego given to it
    assert parsed == ["p.rego", "q.rego", "p.rego"]
    assert again.eval_rule("q.x", None) == first.eval_rule("main.hash", None)
    assert again.eval_rule("main.on", None) is True
    plain = "package v\n\nx := 1\n"
    create_engine("regorus", "v1").add_policy("v.rego", plain)
    create_engine("regorus", "v0").add_policy("v.rego", plain)  # another Rego version
    assert parsed[3:] == ["v.rego", "v.rego"]


def test_a_module_that_failed_to_parse_fails_every_time(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCLE_CACHE_DIR", str(tmp_path))
    for _ in range(2):
        with pytest.raises(PolicyError, match=r"bad\.rego"):
            create_engine("regorus", "v1").add_policy("bad.rego", "package bad\n\nx := {\n")


def test_a_parsed_module_entry_others_could_write_is_not_trusted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCLE_CACHE_DIR", str(tmp_path))
    create_engine("regorus", "v1").add_policy("p.rego", POLICY)
    [entry] = (tmp_path / "rego-parsed").iterdir()
    entry.write_text("package main\n\ndeny contains \"injected\"\n")  # someone else's text
    entry.chmod(0o666)
    engine = create_engine("regorus", "v1")
    engine.add_policy("p.rego", POLICY)
    assert engine.eval_rule("main.deny", {"kind": "Pod", "metadata": {"name": "a"}}) == ["pod a"]
    monkeypatch.setenv("SOCLE_NO_COMPILE_CACHE", "1")
    parsed = _counting_parses(monkeypatch)
    create_engine("regorus", "v1").add_policy("p.rego", POLICY)
    assert parsed == ["p.rego"]  # no cache: parsed every time
