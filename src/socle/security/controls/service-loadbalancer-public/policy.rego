package socle.controls.service_loadbalancer_public

import data.socle.lib.k8s
import rego.v1

# Annotations that make the cloud create an internal load balancer: name -> accepted values.
internal_annotations := {
	"service.beta.kubernetes.io/aws-load-balancer-internal": {"true", "0.0.0.0/0"},
	"service.beta.kubernetes.io/aws-load-balancer-scheme": {"internal"},
	"networking.gke.io/load-balancer-type": {"internal"},
	"cloud.google.com/load-balancer-type": {"internal"},
	"service.beta.kubernetes.io/azure-load-balancer-internal": {"true"},
	"service.beta.kubernetes.io/oci-load-balancer-internal": {"true"},
	"service.beta.kubernetes.io/openstack-internal-load-balancer": {"true"},
	"service.kubernetes.io/ibm-load-balancer-cloud-provider-ip-type": {"private"},
}

is_internal if {
	some name, value in input.metadata.annotations
	is_string(value)
	lower(value) in internal_annotations[name]
}

restricted if {
	ranges := input.spec.loadBalancerSourceRanges
	count(ranges) > 0
	not "0.0.0.0/0" in ranges
	not "::/0" in ranges
}

deny contains {
	"msg": sprintf("Service %q asks for a public load balancer open to every address (no internal annotation, no loadBalancerSourceRanges)", [data.socle.lib.k8s.name]),
	"path": ["spec", "type"],
	"evidence": "LoadBalancer",
} if {
	input.kind == "Service"
	input.spec.type == "LoadBalancer"
	not is_internal
	not restricted
}
