package socle.controls.rbac_wildcard

import data.socle.lib.k8s
import rego.v1

deny contains {
	"msg": sprintf("%s %q (rule %d) grants %s", [input.kind, data.socle.lib.k8s.name, i, what[field]]),
	"path": ["rules", i, field, j],
	"evidence": object.filter(rule, ["apiGroups", "resources", "verbs"]),
} if {
	some pair in data.socle.lib.k8s.rbac_rules
	i := pair[0]
	rule := pair[1]
	some field in ["verbs", "resources"]
	some j, v in rule[field]
	v == "*"
}

what := {"verbs": "every verb (*)", "resources": "every resource type (*)"}
