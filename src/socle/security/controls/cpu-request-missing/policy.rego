package socle.controls.cpu_request_missing

import data.socle.lib.k8s
import rego.v1

# Regular containers and native sidecars: a plain init container runs alone before them and
# does not change what the pod reserves when it asks for nothing. A limit without a request
# makes the request default to the limit; a pod-level request or limit covers the pod.
deny contains k8s.finding(msg, path, "unset", []) if {
	some c in data.socle.lib.k8s.workload_containers
	reserves(c)
	not k8s.declares_resource(c.container, "requests", "cpu")
	not k8s.declares_resource(c.container, "limits", "cpu")
	not k8s.declares_resource(c.pod, "requests", "cpu")
	not k8s.declares_resource(c.pod, "limits", "cpu")
	path := array.concat(c.path, ["resources", "requests", "cpu"])
	msg := sprintf("%s has no CPU request: the scheduler assumes it needs no CPU", [k8s.container_label(c)])
}

reserves(c) if c.field == "containers"

# (Braces: socle's regorus rewrite misreads a one-line body that is a single call.)
reserves(c) if {
	k8s.is_sidecar(c)
}
