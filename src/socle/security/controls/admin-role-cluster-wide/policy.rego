package socle.controls.admin_role_cluster_wide

import data.socle.lib.k8s
import rego.v1

deny contains {
	"msg": sprintf("ClusterRoleBinding %q grants the %s role in every namespace, kube-system included", [data.socle.lib.k8s.name, role]),
	"path": ["roleRef", "name"],
	"evidence": role,
} if {
	input.kind == "ClusterRoleBinding"
	object.get(input.roleRef, "kind", "ClusterRole") == "ClusterRole"
	role := input.roleRef.name
	role in {"admin", "edit"}
	count(k8s.binding_subjects(input)) > 0
}
