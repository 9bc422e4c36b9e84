# Helpers every socle control uses: where pod specs and containers live in each workload kind,
# with the JSON path to each, so findings point at the offending key.
package socle.lib.k8s

import rego.v1

workload_kinds := {
	"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController",
}

pod_kinds := workload_kinds | {"Pod", "CronJob"}

is_pod_owner if pod_kinds[input.kind]

# [path, pod spec] for the pod spec of this resource, wherever the kind keeps it.
pod_specs contains [["spec"], input.spec] if {
	input.kind == "Pod"
	is_object(input.spec)
}

pod_specs contains [["spec", "template", "spec"], input.spec.template.spec] if {
	workload_kinds[input.kind]
	is_object(input.spec.template.spec)
}

pod_specs contains [p, input.spec.jobTemplate.spec.template.spec] if {
	input.kind == "CronJob"
	is_object(input.spec.jobTemplate.spec.template.spec)
	p := ["spec", "jobTemplate", "spec", "template", "spec"]
}

# The pod template's metadata path and object (the Pod's own metadata for a Pod).
pod_metadata contains [["metadata"], object.get(input, "metadata", {})] if input.kind == "Pod"

pod_metadata contains [["spec", "template", "metadata"], m] if {
	workload_kinds[input.kind]
	m := object.get(input.spec.template, "metadata", {})
}

pod_metadata contains [p, m] if {
	input.kind == "CronJob"
	p := ["spec", "jobTemplate", "spec", "template", "metadata"]
	m := object.get(input.spec.jobTemplate.spec.template, "metadata", {})
}

container_fields := ["initContainers", "containers", "ephemeralContainers"]

# Every container (init, regular, ephemeral) with its path, its pod spec and the pod spec path.
containers contains {
	"path": array.concat(pod_path, [field, i]),
	"container": c,
	"field": field,
	"pod_path": pod_path,
	"pod": spec,
} if {
	some ps in pod_specs
	pod_path := ps[0]
	spec := ps[1]
	some field in container_fields
	some i, c in spec[field]
	is_object(c)
}

# Replicas the resource asks for (1 when unset), for risk weights.
replicas := n if {
	n := input.spec.replicas
	is_number(n)
} else := 1

name := object.get(object.get(input, "metadata", {}), "name", "")

namespace := object.get(object.get(input, "metadata", {}), "namespace", "default")
