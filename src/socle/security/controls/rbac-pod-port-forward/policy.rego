package socle.controls.rbac_pod_port_forward

import data.socle.lib.k8s
import rego.v1

wanted := [["", "pods/portforward"]]

verbs := {"create", "get"}

deny contains {
	"msg": sprintf("%s %q (rule %d) can port-forward to pods, bypassing network policies", [input.kind, data.socle.lib.k8s.name, i]),
	"path": ["rules", i],
	"evidence": object.filter(rule, ["apiGroups", "resources", "verbs", "resourceNames"]),
} if {
	some pair in data.socle.lib.k8s.rbac_rules
	i := pair[0]
	rule := pair[1]
	k8s.rule_grants(rule, wanted, verbs)
}
