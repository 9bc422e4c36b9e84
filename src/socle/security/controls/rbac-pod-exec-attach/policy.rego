package socle.controls.rbac_pod_exec_attach

import data.socle.lib.k8s
import rego.v1

wanted := [["", "pods/exec"], ["", "pods/attach"]]

verbs := {"create", "get"}

deny contains {
	"msg": sprintf("%s %q (rule %d) can exec or attach into running containers", [input.kind, data.socle.lib.k8s.name, i]),
	"path": ["rules", i],
	"evidence": object.filter(rule, ["apiGroups", "resources", "verbs", "resourceNames"]),
} if {
	some pair in data.socle.lib.k8s.rbac_rules
	i := pair[0]
	rule := pair[1]
	k8s.rule_grants(rule, wanted, verbs)
}
