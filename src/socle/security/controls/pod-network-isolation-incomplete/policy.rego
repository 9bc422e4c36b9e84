package socle.controls.pod_network_isolation_incomplete

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

# The directions a policy restricts: policyTypes when set, else Ingress (+ Egress when it has
# egress rules), as the API server defaults them.
policy_types(np) := {t | some t in np.spec.policyTypes} if {
	is_array(np.spec.policyTypes)
	count(np.spec.policyTypes) > 0
} else := {"Ingress", "Egress"} if {
	is_array(np.spec.egress)
} else := {"Ingress"}

deny contains {
	"msg": sprintf("the NetworkPolicies selecting the pods of %s %q restrict no %s traffic", [input.kind, data.socle.lib.k8s.name, lower(direction)]),
	"path": array.concat(template_path, ["labels"]),
	"evidence": sort([k8s.obj_name(np) | some np in selecting_policies]),
} if {
	data.socle.lib.k8s.pod_kinds[input.kind]
	count(selecting_policies) > 0
	some direction in ["Ingress", "Egress"]
	every np in selecting_policies {
		not direction in policy_types(np)
	}
}
