package socle.controls.pod_without_network_policy

import data.socle.lib.k8s
import rego.v1

# NetworkPolicies of the resource's namespace that select its pods.
selecting_policies contains np if {
	some np in k8s.pod_selector_candidates("NetworkPolicy", data.socle.lib.k8s.namespace, labels)
	k8s.label_selector_matches(object.get(object.get(np, "spec", {}), "podSelector", {}), labels)
}

labels := l if {
	some pm in data.socle.lib.k8s.pod_metadata
	l := pm[1].labels
	is_object(l)
} else := {}

template_path := pm[0] if {
	some pm in data.socle.lib.k8s.pod_metadata
}

deny contains {
	"msg": sprintf("no NetworkPolicy in namespace %q selects the pods of %s %q: they can reach and be reached by any pod", [data.socle.lib.k8s.namespace, input.kind, data.socle.lib.k8s.name]),
	"path": array.concat(template_path, ["labels"]),
	"evidence": labels,
} if {
	data.socle.lib.k8s.pod_kinds[input.kind]
	count(selecting_policies) == 0
}
