package socle.controls.default_service_account_used

import data.socle.lib.k8s
import rego.v1

deny contains {
	"msg": sprintf("pods of %s %q run as the namespace's default service account with its token mounted", [input.kind, data.socle.lib.k8s.name]),
	"path": array.concat(ps[0], [field]),
	"evidence": "default",
} if {
	some ps in data.socle.lib.k8s.pod_specs
	spec := ps[1]
	k8s.service_account_of(spec) == "default"
	not spec.automountServiceAccountToken == false
	field := account_field(spec)
}

account_field(spec) := "serviceAccountName" if {
	is_string(spec.serviceAccountName)
	spec.serviceAccountName != ""
} else := "serviceAccount" if {
	is_string(spec.serviceAccount)
	spec.serviceAccount != ""
} else := "serviceAccountName"
