package main

# Helpers shared by the rules. A `kind: List` (as `kubectl get -o json` writes it) is
# checked item by item, like the objects it holds.

objects contains obj if {
	input.kind != "List"
	obj := input
}

objects contains obj if {
	input.kind == "List"
	some obj in input.items
}

workload_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}

workloads contains obj if {
	some obj in objects
	obj.kind in workload_kinds
}

pod_specs contains [obj, spec] if {
	some obj in workloads
	spec := obj.spec.template.spec
}

containers contains [obj, c] if {
	some [obj, spec] in pod_specs
	some c in spec.containers
}

containers contains [obj, c] if {
	some [obj, spec] in pod_specs
	some c in spec.initContainers
}

name(obj) := sprintf("%s %s/%s", [obj.kind, object.get(obj.metadata, "namespace", "default"), obj.metadata.name])
