package socle.controls.rbac_webhook_config

import data.socle.lib.k8s
import rego.v1

wanted := [["admissionregistration.k8s.io", "validatingwebhookconfigurations"], ["admissionregistration.k8s.io", "mutatingwebhookconfigurations"]]

verbs := {"create", "update", "patch", "delete", "deletecollection"}

deny contains {
	"msg": sprintf("%s %q (rule %d) can create, change or delete admission webhook configurations", [input.kind, data.socle.lib.k8s.name, i]),
	"path": ["rules", i],
	"evidence": object.filter(rule, ["apiGroups", "resources", "verbs", "resourceNames"]),
} if {
	some pair in data.socle.lib.k8s.rbac_rules
	i := pair[0]
	rule := pair[1]
	k8s.rule_grants(rule, wanted, verbs)
}
