package socle.controls.rbac_secrets_read

import data.socle.lib.k8s
import rego.v1

wanted := [["", "secrets"]]

verbs := {"get", "list", "watch"}

deny contains {
	"msg": sprintf("%s %q (rule %d) can read Secrets (get/list/watch)", [input.kind, data.socle.lib.k8s.name, i]),
	"path": ["rules", i],
	"evidence": object.filter(rule, ["apiGroups", "resources", "verbs", "resourceNames"]),
} if {
	some pair in data.socle.lib.k8s.rbac_rules
	i := pair[0]
	rule := pair[1]
	k8s.rule_grants(rule, wanted, verbs)
	not k8s.rule_names_limited(rule)
}
