package socle.controls.seccomp_unconfined

import data.socle.lib.k8s
import rego.v1

# Each level on its own: a pod-level Unconfined is forbidden even when every container
# overrides it.
deny contains k8s.finding(msg, path, "Unconfined", fix) if {
	some [pod_path, spec] in data.socle.lib.k8s.pod_specs
	k8s.pod_security_context(spec).seccompProfile.type == "Unconfined"
	path := array.concat(pod_path, ["securityContext", "seccompProfile", "type"])
	msg := "the pod disables seccomp (seccompProfile type Unconfined) for every container that does not set its own profile"
	fix := [{"op": "replace", "path": path, "value": "RuntimeDefault"}]
}

deny contains k8s.finding(msg, path, "Unconfined", fix) if {
	some c in data.socle.lib.k8s.containers
	k8s.container_security_context(c.container).seccompProfile.type == "Unconfined"
	path := array.concat(c.path, ["securityContext", "seccompProfile", "type"])
	msg := sprintf("%s disables seccomp (seccompProfile type Unconfined)", [k8s.container_label(c)])
	fix := [{"op": "replace", "path": path, "value": "RuntimeDefault"}]
}
