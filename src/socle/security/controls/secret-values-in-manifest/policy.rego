package socle.controls.secret_values_in_manifest

import data.socle.lib.k8s
import rego.v1

placeholder(v) if {
	t := trim_space(v)
	strings.any_prefix_match(t, ["$", "{{", "<", "%"])
}

deny contains {
	"msg": sprintf("Secret %q holds the value of %q in plain %s", [data.socle.lib.k8s.name, key, field]),
	"path": [field, key],
	"evidence": sprintf("%s.%s=<redacted, %d characters>", [field, key, count(value)]),
} if {
	input.kind == "Secret"
	some field in ["stringData", "data"]
	some key, value in input[field]
	is_string(value)
	trim_space(value) != ""
	not placeholder(value)
}
