package socle.controls.default_service_account_bound

import data.socle.lib.k8s
import rego.v1

deny contains {
	"msg": sprintf("%s %q grants %s %q to the default service account of namespace %q", [input.kind, data.socle.lib.k8s.name, object.get(input.roleRef, "kind", "role"), object.get(input.roleRef, "name", ""), ns]),
	"path": ["subjects", i, "name"],
	"evidence": sprintf("%s/default", [ns]),
} if {
	some pair in k8s.binding_subjects(input)
	i := pair[0]
	s := pair[1]
	s.kind == "ServiceAccount"
	s.name == "default"
	ns := object.get(s, "namespace", data.socle.lib.k8s.namespace)
}
