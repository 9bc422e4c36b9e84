package socle.controls.rbac_impersonate

import data.socle.lib.k8s
import rego.v1

wanted := [["", "users"], ["", "groups"], ["", "serviceaccounts"], ["authentication.k8s.io", "userextras/scopes"], ["authentication.k8s.io", "uids"]]

verbs := {"impersonate"}

deny contains {
	"msg": sprintf("%s %q (rule %d) can impersonate other identities", [input.kind, data.socle.lib.k8s.name, i]),
	"path": ["rules", i],
	"evidence": object.filter(rule, ["apiGroups", "resources", "verbs", "resourceNames"]),
} if {
	some pair in data.socle.lib.k8s.rbac_rules
	i := pair[0]
	rule := pair[1]
	k8s.rule_grants(rule, wanted, verbs)
}
