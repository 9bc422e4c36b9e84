package socle.controls.authenticated_group_binding

import data.socle.lib.k8s
import rego.v1

builtin := {"system:public-info-viewer", "system:discovery", "system:basic-user"}

deny contains {
	"msg": sprintf("%s %q grants %s %q to every authenticated identity (system:authenticated)", [input.kind, data.socle.lib.k8s.name, object.get(input.roleRef, "kind", "role"), object.get(input.roleRef, "name", "")]),
	"path": ["subjects", i, "name"],
	"evidence": s.name,
} if {
	some pair in k8s.binding_subjects(input)
	i := pair[0]
	s := pair[1]
	s.kind == "Group"
	s.name == "system:authenticated"
	not object.get(input.roleRef, "name", "") in builtin
}
