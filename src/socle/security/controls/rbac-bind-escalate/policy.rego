package socle.controls.rbac_bind_escalate

import data.socle.lib.k8s
import rego.v1

wanted := [["rbac.authorization.k8s.io", "roles"], ["rbac.authorization.k8s.io", "clusterroles"]]

verbs := {"bind", "escalate"}

deny contains {
	"msg": sprintf("%s %q (rule %d) can bind or escalate roles beyond its own permissions", [input.kind, data.socle.lib.k8s.name, i]),
	"path": ["rules", i],
	"evidence": object.filter(rule, ["apiGroups", "resources", "verbs", "resourceNames"]),
} if {
	some pair in data.socle.lib.k8s.rbac_rules
	i := pair[0]
	rule := pair[1]
	k8s.rule_grants(rule, wanted, verbs)
}
