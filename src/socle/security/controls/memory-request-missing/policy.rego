package socle.controls.memory_request_missing

import data.socle.lib.k8s
import rego.v1

# Regular containers and native sidecars (see cpu-request-missing). A limit without a request
# makes the request default to the limit; a pod-level request or limit covers the pod.
deny contains k8s.finding(msg, path, "unset", []) if {
	some c in data.socle.lib.k8s.workload_containers
	reserves(c)
	not k8s.declares_resource(c.container, "requests", "memory")
	not k8s.declares_resource(c.container, "limits", "memory")
	not k8s.declares_resource(c.pod, "requests", "memory")
	not k8s.declares_resource(c.pod, "limits", "memory")
	path := array.concat(c.path, ["resources", "requests", "memory"])
	msg := sprintf("%s has no memory request: the scheduler assumes it needs no memory", [k8s.container_label(c)])
}

reserves(c) if c.field == "containers"

# (Braces: socle's regorus rewrite misreads a one-line body that is a single call.)
reserves(c) if {
	k8s.is_sidecar(c)
}
