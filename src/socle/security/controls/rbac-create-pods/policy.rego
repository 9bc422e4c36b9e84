package socle.controls.rbac_create_pods

import data.socle.lib.k8s
import rego.v1

wanted := [["", "pods"], ["apps", "deployments"], ["apps", "statefulsets"], ["apps", "daemonsets"], ["apps", "replicasets"], ["batch", "jobs"], ["batch", "cronjobs"], ["", "replicationcontrollers"]]

verbs := {"create"}

deny contains {
	"msg": sprintf("%s %q (rule %d) can create pods or controllers that create them", [input.kind, data.socle.lib.k8s.name, i]),
	"path": ["rules", i],
	"evidence": object.filter(rule, ["apiGroups", "resources", "verbs", "resourceNames"]),
} if {
	some pair in data.socle.lib.k8s.rbac_rules
	i := pair[0]
	rule := pair[1]
	k8s.rule_grants(rule, wanted, verbs)
}
