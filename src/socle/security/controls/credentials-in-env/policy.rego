package socle.controls.credentials_in_env

import data.socle.lib.k8s
import rego.v1

key_names := [lower(k) | some k in object.get(data.socle.inputs, "sensitiveKeyNames", []); is_string(k)]

allowed_suffixes := [lower(k) | some k in object.get(data.socle.inputs, "sensitiveKeySuffixesAllowed", []); is_string(k)]

value_patterns := [p | some p in object.get(data.socle.inputs, "sensitiveValuePatterns", []); is_string(p)]

# A key that names a credential (and is not a pointer to one: a file, a URL, a setting).
sensitive_key(key) if {
	k := lower(key)
	some name in key_names
	contains(k, name)
	not strings.any_suffix_match(k, allowed_suffixes)
}

# A literal that could be a credential: not empty, not a reference, a path or a placeholder.
literal_value(v) if {
	is_string(v)
	t := trim_space(v)
	t != ""
	not strings.any_prefix_match(t, ["$", "{{", "<", "%", "/"])
	not lower(t) in {"true", "false", "null", "none", "changeme", "change-me", "redacted", "xxx"}
}

# The first value pattern the text matches (credential formats are recognised whatever the key).
matched_pattern(v) := p if {
	is_string(v)
	some p in value_patterns
	regex.match(p, v)
}

deny contains {
	"msg": sprintf("container %q sets %q to a literal credential", [c.container.name, e.name]),
	"path": array.concat(c.path, ["env", i, "value"]),
	"evidence": sprintf("%s=<redacted, %d characters>", [e.name, count(e.value)]),
} if {
	some c in data.socle.lib.k8s.containers
	some i, e in c.container.env
	is_string(e.name)
	literal_value(e.value)
	suspicious(e.name, e.value)
}

suspicious(key, _) if {
	sensitive_key(key)
}

suspicious(_, value) if {
	matched_pattern(value)
}
