package socle.controls.seccomp_profile_missing

import data.socle.lib.k8s
import rego.v1

valid_types := {"RuntimeDefault", "Localhost", "Unconfined"}

# The profile type a container runs with: its own, else the pod's (undefined when neither).
effective_type(c) := t if {
	t := c.container.securityContext.seccompProfile.type
	t != null
} else := t if {
	t := c.pod.securityContext.seccompProfile.type
	t != null
}

# Containers with no profile anywhere: one finding per pod spec, fixed at pod level.
deny contains k8s.finding(msg, path, names, fix) if {
	some [pod_path, spec] in data.socle.lib.k8s.pod_specs
	not k8s.is_windows_pod(spec)
	names := sort([object.get(c.container, "name", "") |
		some c in data.socle.lib.k8s.containers
		c.pod_path == pod_path
		not effective_type(c)
	])
	count(names) > 0
	path := array.concat(pod_path, ["securityContext", "seccompProfile", "type"])
	msg := sprintf("no seccomp profile for %s: set seccompProfile type RuntimeDefault on the pod or on each container", [concat(", ", [sprintf("%q", [n]) | some n in names])])
	fix := [{"op": "add", "path": path, "value": "RuntimeDefault"}]
}

# A type that is not one of the API's values (the API rejects it; a typo such as
# runtime/default, the old annotation spelling).
deny contains k8s.finding(msg, path, t, []) if {
	some [pod_path, spec] in data.socle.lib.k8s.pod_specs
	not k8s.is_windows_pod(spec)
	t := k8s.pod_security_context(spec).seccompProfile.type
	not t in valid_types
	path := array.concat(pod_path, ["securityContext", "seccompProfile", "type"])
	msg := sprintf("the pod's seccompProfile type %v is not RuntimeDefault, Localhost or Unconfined", [t])
}

deny contains k8s.finding(msg, path, t, []) if {
	some c in data.socle.lib.k8s.containers
	not k8s.is_windows_pod(c.pod)
	t := k8s.container_security_context(c.container).seccompProfile.type
	not t in valid_types
	path := array.concat(c.path, ["securityContext", "seccompProfile", "type"])
	msg := sprintf("%s has seccompProfile type %v, which is not RuntimeDefault, Localhost or Unconfined", [k8s.container_label(c), t])
}
