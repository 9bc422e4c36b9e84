package socle.controls.exposed_service_root_workload

import data.socle.lib.k8s
import rego.v1

exposed if input.spec.type in {"NodePort", "LoadBalancer"}

exposed if count(input.spec.externalIPs) > 0

deny contains {
	"msg": sprintf("Service %q exposes %s %q outside the cluster, and its containers %v may run as root", [data.socle.lib.k8s.name, w.kind, k8s.obj_name(w), roots]),
	"path": ["spec", "selector"],
	"evidence": {"workload": sprintf("%s/%s", [w.kind, k8s.obj_name(w)]), "containers": roots},
} if {
	input.kind == "Service"
	exposed
	some w in k8s.inventory_in_kinds(data.socle.lib.k8s.pod_kinds, data.socle.lib.k8s.namespace)
	k8s.map_selector_matches(input.spec.selector, k8s.pod_labels_of(w))
	spec := k8s.pod_template_of(w).spec
	roots := [c.name |
		some field in ["initContainers", "containers"]
		some c in spec[field]
		k8s.may_run_as_root(spec, c)
	]
	count(roots) > 0
}
