package main

import rego.v1

# Fires on every document with a kind (a ConfigMap, a List...).
deny contains msg if {
	input.kind
	msg := sprintf("%v %v has a kind", [input.kind, object.get(input, ["metadata", "name"], "-")])
}

# Fires on what conftest tests as null: an empty file, a trailing ---, a part with only
# comments, a document whose value is ~ (and on anything else without a kind).
warn contains "no kind" if not input.kind

# The usual label rule, without a guard: conftest reports it on every null document too.
deny contains "no owner label" if not input.metadata.labels.owner
