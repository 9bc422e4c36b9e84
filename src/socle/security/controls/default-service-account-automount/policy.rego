package socle.controls.default_service_account_automount

import data.socle.lib.k8s
import rego.v1

deny contains {
	"msg": sprintf("the default service account of namespace %q mounts its token into every pod that names no account", [data.socle.lib.k8s.namespace]),
	"path": ["automountServiceAccountToken"],
	"evidence": object.get(input, "automountServiceAccountToken", "unset"),
	"fix": [{"op": "add", "path": ["automountServiceAccountToken"], "value": false}],
} if {
	input.kind == "ServiceAccount"
	data.socle.lib.k8s.name == "default"
	not input.automountServiceAccountToken == false
}
