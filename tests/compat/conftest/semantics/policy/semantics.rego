package main

# OPA's semantics where regorus differs, compared with conftest by
# tests/compat/test_conftest_differential.py:
# * a builtin that fails (a string that is no number, an operand of the wrong type, a
#   division by zero) leaves its expression undefined and the rest of the rule goes on;
# * under `not`, the values given to a call, the computed keys of a reference and the items
#   of a composite are evaluated before the negation: when one is missing, the rule body
#   fails instead of the negation succeeding; `==` and `=` keep their operands inside;
# * sprintf's verbs follow Go's fmt (%s of a number is %!s(int64=5)), and arithmetic with
#   floats is exact before it is rounded to a float64 (0.0001 * 3 is 0.0003).

# builtin errors
deny contains msg if {
	some key, value in input.metadata.annotations
	to_number(value) > 10
	msg := sprintf("annotation %s is %v, over 10", [key, value])
}

deny contains msg if {
	half := input.spec.replicas / 2
	msg := sprintf("half of the replicas: %v", [half])
}

deny contains msg if {
	per := 100 / input.spec.replicas
	msg := sprintf("each replica takes %v%%", [per])
}

warn contains msg if {
	some c in input.spec.template.spec.containers
	not startswith(c.image, "registry.example.com/")
	msg := sprintf("container %s: image from another registry", [c.name])
}

warn contains msg if {
	tier := upper(input.metadata.labels.tier)
	msg := sprintf("tier %s", [tier])
}

warn contains msg if {
	n := count(input.data)
	msg := sprintf("%d data entries", [n])
}

# negation
deny contains "no owner label, or not a team" if {
	not startswith(input.metadata.labels.owner, "team-")
}

deny contains "not named by the convention" if {
	not regex.match("^[a-z]+-[a-z]+$", input.metadata.name)
}

deny contains "owner is not exactly team-a" if {
	not input.metadata.labels.owner == "team-a"
}

deny contains "no such port" if {
	not input.spec.ports[input.spec.selectedPort]
}

deny contains "tier is not FRONT" if {
	not upper(input.metadata.labels.tier) == "FRONT"
}

deny contains "size not over 2" if {
	not count(input.data) > 2
}

deny contains "no labels at all" if {
	not input.metadata.labels
}

deny contains "kind not in the list" if {
	not input.kind in {"Deployment", "Service"}
}

deny contains "name not a string" if {
	not is_string(input.metadata.name)
}

deny contains "name not a string (object.get)" if {
	not is_string(object.get(input, ["metadata", "name"], null))
}

warn contains "a container without a probe" if {
	some c in input.spec.template.spec.containers
	not has_probe(c)
}

has_probe(c) if c.livenessProbe

# sprintf as OPA's: numbers reach Go's fmt as int64 or float64, anything else as its text,
# so a verb that does not fit prints %!verb(type=value)
warn contains msg if {
	some i, v in input.values
	msg := sprintf("%d: s=%s d=%d v=%v q=%q", [i, v, v, v, v])
}

warn contains msg if {
	some v in input.values
	is_number(v)
	msg := sprintf("number %v", [v * 3])
}

# objects with number keys
warn contains msg if {
	by_index := {i: c.name | some i, c in input.spec.template.spec.containers}
	msg := sprintf("containers by index: %v, first %v", [object.keys(by_index), by_index[0]])
}

# builtins the compiled engine asks regorus to evaluate, one call at a time
deny contains msg if {
	some c in input.containers
	mem := units.parse_bytes(c.memory)
	mem > 1000000000
	msg := sprintf("%s: memory %v over 1G", [c.name, mem])
}

deny contains msg if {
	some c in input.containers
	not semver.is_valid(c.version)
	msg := sprintf("%s: version %v is not semantic", [c.name, c.version])
}

deny contains msg if {
	some c in input.containers
	semver.compare(c.version, "1.2.0") < 0
	msg := sprintf("%s: version %s is older than 1.2.0", [c.name, c.version])
}

deny contains msg if {
	some c in input.containers
	not glob.match("registry.*/**", ["/"], c.image)
	msg := sprintf("%s: image %s from another registry", [c.name, c.image])
}

warn contains msg if {
	count(input.containers) > 0
	msg := sprintf("cpu: at most %v, in all %v", [
		max([c.cpu | some c in input.containers]),
		sum({units.parse(c.cpu) | some c in input.containers; is_string(c.cpu)}),
	])
}

# the *.is_valid builtins answer false for a value that is not a string (regorus fails)
warn contains msg if {
	some c in input.containers
	not json.is_valid(c.cpu)
	msg := sprintf("%s: cpu %v is no JSON text", [c.name, c.cpu])
}

# time.now_ns() is one instant for the whole evaluation
deny contains "time goes backwards" if time.now_ns() != time.now_ns()

# upper and lower as Go's: character by character, simple mappings (ß stays, ᾳ becomes ᾼ)
warn contains msg if {
	some word in input.words
	msg := sprintf("case: %s %s %s", [word, upper(word), lower(word)])
}

# integers past 64 bits are exact, as OPA's big numbers (regorus hands the literal over as a
# float: 99999999999999999999999999999 was 1e+29), and / and % stay exact on them
warn contains msg if {
	input.kind == "ConfigMap"
	big := 99999999999999999999999999999
	msg := sprintf("big: %v %v %v %v %v %v", [
		big, big * 3, 12345678901234567890 / 10, 18446744073709551617 % 7,
		-7 % 3, big - 99999999999999999999999999998,
	])
}
