package socle.controls.cluster_admin_binding

import data.socle.lib.k8s
import rego.v1

deny contains {
	"msg": sprintf("%s %q gives %s full control through cluster-admin", [input.kind, data.socle.lib.k8s.name, concat(", ", who)]),
	"path": ["roleRef", "name"],
	"evidence": who,
} if {
	input.kind in {"RoleBinding", "ClusterRoleBinding"}
	object.get(input.roleRef, "kind", "ClusterRole") == "ClusterRole"
	input.roleRef.name == "cluster-admin"
	who := [sprintf("%s %s", [s.kind, s.name]) |
		some pair in k8s.binding_subjects(input)
		s := pair[1]
		not break_glass(s)
	]
	count(who) > 0
}

# The built-in binding of cluster-admin to system:masters is how break-glass access works.
break_glass(s) if {
	s.kind == "Group"
	s.name == "system:masters"
}
