package socle.controls.rbac_nodes_proxy

import data.socle.lib.k8s
import rego.v1

wanted := [["", "nodes/proxy"]]

verbs := {"get", "list", "watch", "create", "update", "patch", "delete"}

deny contains {
	"msg": sprintf("%s %q (rule %d) grants access to the kubelet API through nodes/proxy", [input.kind, data.socle.lib.k8s.name, i]),
	"path": ["rules", i],
	"evidence": object.filter(rule, ["apiGroups", "resources", "verbs", "resourceNames"]),
} if {
	some pair in data.socle.lib.k8s.rbac_rules
	i := pair[0]
	rule := pair[1]
	k8s.rule_grants(rule, wanted, verbs)
}
