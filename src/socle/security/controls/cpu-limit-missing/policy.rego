package socle.controls.cpu_limit_missing

import data.socle.lib.k8s
import rego.v1

# Init and regular containers (ephemeral ones cannot declare resources). A pod-level limit
# (spec.resources, Kubernetes 1.32+) bounds every container.
deny contains k8s.finding(msg, path, "unset", []) if {
	some c in data.socle.lib.k8s.workload_containers
	not k8s.declares_resource(c.container, "limits", "cpu")
	not k8s.declares_resource(c.pod, "limits", "cpu")
	path := array.concat(c.path, ["resources", "limits", "cpu"])
	msg := sprintf("%s has no CPU limit and can use every core of the node", [k8s.container_label(c)])
}
