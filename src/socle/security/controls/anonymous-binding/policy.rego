package socle.controls.anonymous_binding

import data.socle.lib.k8s
import rego.v1

anonymous := {"system:anonymous", "system:unauthenticated"}

deny contains {
	"msg": sprintf("%s %q grants %s %q to %s: anyone who can reach the API server without credentials", [input.kind, data.socle.lib.k8s.name, object.get(input.roleRef, "kind", "role"), object.get(input.roleRef, "name", ""), s.name]),
	"path": ["subjects", i, "name"],
	"evidence": s.name,
} if {
	some pair in k8s.binding_subjects(input)
	i := pair[0]
	s := pair[1]
	s.name in anonymous
	s.kind in {"User", "Group"}
	not object.get(input.roleRef, "name", "") == "system:public-info-viewer"
}
