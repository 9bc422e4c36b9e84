package socle.controls.workload_sa_overbroad_role

import data.socle.lib.k8s
import rego.v1

builtin_broad := {"cluster-admin", "admin", "edit"}

checks := [
	["every verb on every resource (*)", [["*", "*"]], {"*"}],
	["reading Secrets", [["", "secrets"]], {"get", "list", "watch"}],
	["exec/attach into pods", [["", "pods/exec"], ["", "pods/attach"]], {"create", "get"}],
	["creating pods", [["", "pods"]], {"create"}],
	["binding or escalating roles", [["rbac.authorization.k8s.io", "roles"], ["rbac.authorization.k8s.io", "clusterroles"]], {"bind", "escalate"}],
	["impersonation", [["", "users"], ["", "groups"], ["", "serviceaccounts"]], {"impersonate"}],
]

# The bindings whose subjects include this service account (directly or by group).
holds(b, ns, sa) if {
	some s in b.subjects
	s.name == sa
	k8s.subject_is_service_account(s, k8s.obj_namespace(b), ns, sa)
}

holds(b, ns, _) if {
	some s in b.subjects
	s.kind == "Group"
	s.name in {"system:serviceaccounts", concat(":", ["system:serviceaccounts", ns])}
}

# The bindings of `kind` that may hold service account `sa` (a subject of that name, or one of
# the service-account groups); holds decides.
candidate_bindings(kind, sa) := k8s.subject_candidates(kind, {sa, "system:serviceaccounts", concat(":", ["system:serviceaccounts", data.socle.lib.k8s.namespace])}) if {
	is_string(data.socle.lib.k8s.namespace)
} else := k8s.inventory_kind(kind)

# What the role a binding refers to allows, among the risky permissions.
risks(b) := {sprintf("the built-in %s role", [b.roleRef.name])} if {
	object.get(b.roleRef, "kind", "") == "ClusterRole"
	b.roleRef.name in builtin_broad
} else := {c[0] |
	some role in k8s.inventory_kind(b.roleRef.kind)
	k8s.obj_name(role) == b.roleRef.name
	same_scope(role, b)
	some rule in role.rules
	not k8s.rule_names_limited(rule)
	some c in checks
	k8s.rule_grants(rule, c[1], c[2])
}

same_scope(role, _) if role.kind == "ClusterRole"

same_scope(role, b) if {
	role.kind == "Role"
	k8s.obj_namespace(role) == k8s.obj_namespace(b)
}

deny contains {
	"msg": sprintf("pods of %s %q run as service account %q, to which %s %q gives: %s", [input.kind, data.socle.lib.k8s.name, sa, b.kind, k8s.obj_name(b), concat(", ", sort(found))]),
	"path": array.concat(ps[0], ["serviceAccountName"]),
	"evidence": {"binding": sprintf("%s/%s", [b.kind, k8s.obj_name(b)]), "role": b.roleRef.name, "grants": sort(found)},
} if {
	some ps in data.socle.lib.k8s.pod_specs
	not ps[1].automountServiceAccountToken == false
	sa := k8s.service_account_of(ps[1])
	some kind in ["RoleBinding", "ClusterRoleBinding"]
	some b in candidate_bindings(kind, sa)
	holds(b, data.socle.lib.k8s.namespace, sa)
	found := risks(b)
	count(found) > 0
}
