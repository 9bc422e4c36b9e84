package socle.controls.single_replica_without_pdb

import data.socle.lib.k8s
import rego.v1

replicas := n if {
	n := input.spec.replicas
	is_number(n)
} else := 1

scaled_by_hpa if {
	some hpa in k8s.inventory_in("HorizontalPodAutoscaler", data.socle.lib.k8s.namespace)
	hpa.spec.scaleTargetRef.kind == input.kind
	hpa.spec.scaleTargetRef.name == data.socle.lib.k8s.name
	object.get(hpa.spec, "minReplicas", 1) >= 2
}

covered_by_pdb if {
	some pdb in k8s.inventory_in("PodDisruptionBudget", data.socle.lib.k8s.namespace)
	k8s.label_selector_matches(object.get(pdb.spec, "selector", {}), k8s.pod_labels_of(input))
}

deny contains {
	"msg": sprintf("%s %q runs a single replica with no PodDisruptionBudget: every node drain takes it down", [input.kind, data.socle.lib.k8s.name]),
	"path": ["spec", "replicas"],
	"evidence": replicas,
} if {
	input.kind in {"Deployment", "StatefulSet"}
	replicas == 1
	not scaled_by_hpa
	not covered_by_pdb
}
