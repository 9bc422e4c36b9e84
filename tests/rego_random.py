"""Random Rego rules and inputs for the differential fuzz tests (conftest and gator): rules
of builtins given input values of any type, comparisons, negations, arithmetic, sprintf's
verbs, comprehensions and `every`, that pass OPA's type checker (builtins get input values,
whose type it does not know), and JSON documents to run them on. Seeded: a seed gives the same
policy and inputs every time."""

from __future__ import annotations

import json
import random

REFS = ["input.a", "input.b", "input.c", "input.missing", "input.o.x", "input.o.y",
        "input.l[0]", "input.l[1]", "input.l[5]", "input.o[input.k]", "input.l[input.i]"]
LITERALS = ['"abc"', '"ABC"', '""', '"1"', '"1.5"', '" a "', '"a,b"', '"é"', '"10Gi"', '"1e3"',
            "0", "1", "-1", "2.5", "true", "false", "null"]
UNARY = ["upper", "lower", "trim_space", "count", "to_number", "is_string", "abs",
         "json.marshal", "sort", "object.keys"]
BINARY = ["startswith", "endswith", "contains", "split", "concat", "trim", "trim_left",
          "trim_prefix", "trim_suffix", "indexof", "regex.match", "format_int",
          "array.concat", "object.union", "strings.any_prefix_match",
          "strings.any_suffix_match"]
TERNARY = ["substring", "replace", "object.get", "array.slice"]
VALUES = ['"abc"', '"ABC"', '""', '"1"', '"1.5"', '" a "', '"a,b"', '"é"', '"10Gi"',
          "0", "1", "-1", "2.5", "0.1", "65", "true", "false", "null"]


class Policy:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def operand(self) -> str:
        if self.r.random() < 0.85:
            return self.r.choice(REFS)
        key = self.r.choice(['"x"', '"nope"', '["x", "y"]'])
        default = self.r.choice(["null", "0", '"d"'])
        return f"object.get(input.o, {key}, {default})"

    def call(self) -> str:
        r = self.r.random()
        if r < 0.3:
            return f"{self.r.choice(UNARY)}({self.operand()})"
        if r < 0.7:
            return f"{self.r.choice(BINARY)}({self.operand()}, {self.operand()})"
        if r < 0.85:
            return f"{self.r.choice(TERNARY)}({self.operand()}, {self.operand()}, " \
                   f"{self.operand()})"
        return f"({self.operand()} {self.r.choice('+-*/%')} {self.operand()})"

    def literal(self) -> str:
        neg = "not " if self.r.random() < 0.35 else ""
        r = self.r.random()
        cmp = self.r.choice(["==", "!=", "<", "<=", ">", ">="])
        if r < 0.4:
            return neg + self.call()
        if r < 0.6:
            return f"{neg}{self.r.choice(REFS)} {cmp} {self.r.choice(LITERALS)}"
        if r < 0.8:
            return f"{neg}{self.call()} {cmp} {self.r.choice(REFS)}"
        return neg + self.r.choice(REFS)

    def rule(self, i: int) -> str:
        body = [self.literal() for _ in range(self.r.randint(1, 2))]
        r = self.r.random()
        if r < 0.3:
            body.append(f"x := {self.call()}")
        elif r < 0.45:
            verbs = self.r.choice(["%v", "%d", "%s", "%q", "%v-%s"])
            args = ", ".join(self.operand() for _ in range(verbs.count("%")))
            body.append(f'x := sprintf("{verbs}", [{args}])')
        elif r < 0.55:
            body.append(f"x := [y | some y in {self.r.choice(REFS)}; "
                        f"{self.r.choice(UNARY)}(y) != {self.r.choice(REFS)}]")
        elif r < 0.6:
            body.append(f"x := true; every y in {self.r.choice(REFS)} "
                        f"{{ {self.r.choice(BINARY)}(y, {self.operand()}) }}")
        else:
            return f'deny contains "r{i}" if {{ {"; ".join(body)} }}'
        return f'deny contains sprintf("r{i} %v", [x]) if {{ {"; ".join(body)} }}'

    def value(self, depth: int = 0) -> object:
        r = self.r.random()
        if r < 0.6 or depth > 1:
            return json.loads(self.r.choice(VALUES))
        if r < 0.8:
            return [self.value(depth + 1) for _ in range(self.r.randint(0, 3))]
        return {k: self.value(depth + 1)
                for k in self.r.sample(["x", "y", "z", "abc"], self.r.randint(0, 3))}

    def document(self) -> dict[str, object]:
        doc: dict[str, object] = {k: self.value() for k in "abc" if self.r.random() < 0.85}
        if self.r.random() < 0.8:
            doc["o"] = {k: self.value() for k in ("x", "y", "abc") if self.r.random() < 0.7}
        if self.r.random() < 0.8:
            doc["l"] = [self.value() for _ in range(self.r.randint(0, 3))]
        if self.r.random() < 0.7:
            doc["k"] = self.r.choice(["x", "y", "z", 1])
        if self.r.random() < 0.7:
            doc["i"] = self.r.choice([0, 1, 7, "0", 1.0])
        return doc
