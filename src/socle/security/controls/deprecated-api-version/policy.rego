package socle.controls.deprecated_api_version

import data.socle.lib.k8s
import rego.v1

# apiVersion -> kind -> [removed in, replacement]; "*" covers every kind of a removed group.
removed := {
	"extensions/v1beta1": {
		"Deployment": ["1.16", "apps/v1"], "DaemonSet": ["1.16", "apps/v1"],
		"ReplicaSet": ["1.16", "apps/v1"], "NetworkPolicy": ["1.16", "networking.k8s.io/v1"],
		"PodSecurityPolicy": ["1.16", "none (Pod Security Admission)"],
		"Ingress": ["1.22", "networking.k8s.io/v1"],
	},
	"apps/v1beta1": {"*": ["1.16", "apps/v1"]},
	"apps/v1beta2": {"*": ["1.16", "apps/v1"]},
	"networking.k8s.io/v1beta1": {"*": ["1.22", "networking.k8s.io/v1"]},
	"rbac.authorization.k8s.io/v1beta1": {"*": ["1.22", "rbac.authorization.k8s.io/v1"]},
	"rbac.authorization.k8s.io/v1alpha1": {"*": ["1.22", "rbac.authorization.k8s.io/v1"]},
	"apiextensions.k8s.io/v1beta1": {"*": ["1.22", "apiextensions.k8s.io/v1"]},
	"admissionregistration.k8s.io/v1beta1": {"*": ["1.22", "admissionregistration.k8s.io/v1"]},
	"apiregistration.k8s.io/v1beta1": {"*": ["1.22", "apiregistration.k8s.io/v1"]},
	"authentication.k8s.io/v1beta1": {"*": ["1.22", "authentication.k8s.io/v1"]},
	"authorization.k8s.io/v1beta1": {"*": ["1.22", "authorization.k8s.io/v1"]},
	"certificates.k8s.io/v1beta1": {"*": ["1.22", "certificates.k8s.io/v1"]},
	"coordination.k8s.io/v1beta1": {"*": ["1.22", "coordination.k8s.io/v1"]},
	"scheduling.k8s.io/v1beta1": {"*": ["1.22", "scheduling.k8s.io/v1"]},
	"scheduling.k8s.io/v1alpha1": {"*": ["1.22", "scheduling.k8s.io/v1"]},
	"storage.k8s.io/v1beta1": {
		"CSIDriver": ["1.22", "storage.k8s.io/v1"], "CSINode": ["1.22", "storage.k8s.io/v1"],
		"StorageClass": ["1.22", "storage.k8s.io/v1"],
		"VolumeAttachment": ["1.22", "storage.k8s.io/v1"],
		"CSIStorageCapacity": ["1.27", "storage.k8s.io/v1"],
	},
	"batch/v1beta1": {"CronJob": ["1.25", "batch/v1"]},
	"batch/v2alpha1": {"CronJob": ["1.21", "batch/v1"]},
	"discovery.k8s.io/v1beta1": {"EndpointSlice": ["1.25", "discovery.k8s.io/v1"]},
	"events.k8s.io/v1beta1": {"Event": ["1.25", "events.k8s.io/v1"]},
	"autoscaling/v2beta1": {"HorizontalPodAutoscaler": ["1.25", "autoscaling/v2"]},
	"autoscaling/v2beta2": {"HorizontalPodAutoscaler": ["1.26", "autoscaling/v2"]},
	"policy/v1beta1": {
		"PodDisruptionBudget": ["1.25", "policy/v1"],
		"PodSecurityPolicy": ["1.25", "none (Pod Security Admission)"],
	},
	"node.k8s.io/v1beta1": {"RuntimeClass": ["1.25", "node.k8s.io/v1"]},
	"flowcontrol.apiserver.k8s.io/v1beta1": {"*": ["1.26", "flowcontrol.apiserver.k8s.io/v1"]},
	"flowcontrol.apiserver.k8s.io/v1beta2": {"*": ["1.29", "flowcontrol.apiserver.k8s.io/v1"]},
	"flowcontrol.apiserver.k8s.io/v1beta3": {"*": ["1.32", "flowcontrol.apiserver.k8s.io/v1"]},
}

# Every removed apiVersion is a beta or an alpha: a cheap first test before building `removed`.
maybe_removed if {
	is_string(input.apiVersion)
	contains(input.apiVersion, "beta")
}

maybe_removed if {
	is_string(input.apiVersion)
	contains(input.apiVersion, "alpha")
}

entry := e if {
	maybe_removed
	e := removed[input.apiVersion][input.kind]
} else := e if {
	maybe_removed
	e := removed[input.apiVersion]["*"]
}

deny contains {
	"msg": sprintf("%s %q uses %s, removed in Kubernetes %s; use %s", [input.kind, data.socle.lib.k8s.name, input.apiVersion, entry[0], entry[1]]),
	"path": ["apiVersion"],
	"evidence": {"apiVersion": input.apiVersion, "removedIn": entry[0], "replacement": entry[1]},
}
