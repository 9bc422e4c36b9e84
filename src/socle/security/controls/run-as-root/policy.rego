package socle.controls.run_as_root

import data.socle.lib.k8s
import rego.v1

# runAsUser: 0 at pod level (forbidden even when every container overrides it).
deny contains k8s.finding(msg, path, 0, []) if {
	some [pod_path, spec] in data.socle.lib.k8s.pod_specs
	k8s.pod_security_context(spec).runAsUser == 0
	path := array.concat(pod_path, ["securityContext", "runAsUser"])
	msg := "the pod sets runAsUser: 0: containers that do not override it run as root, and the Restricted standard rejects it even when all do"
}

# runAsUser: 0 on a container.
deny contains k8s.finding(msg, path, 0, []) if {
	some c in data.socle.lib.k8s.containers
	k8s.container_security_context(c.container).runAsUser == 0
	path := array.concat(c.path, ["securityContext", "runAsUser"])
	msg := sprintf("%s sets runAsUser: 0 and runs as root", [k8s.container_label(c)])
}

# runAsNonRoot explicitly false at pod level.
deny contains k8s.finding(msg, path, value, []) if {
	some [pod_path, spec] in data.socle.lib.k8s.pod_specs
	value := k8s.pod_security_context(spec).runAsNonRoot
	value != null
	value != true
	path := array.concat(pod_path, ["securityContext", "runAsNonRoot"])
	msg := sprintf("the pod sets runAsNonRoot to %v: containers that do not set it themselves may run as root", [value])
}

# runAsNonRoot explicitly false (or not a boolean) on a container.
deny contains k8s.finding(msg, path, value, []) if {
	some c in data.socle.lib.k8s.containers
	value := k8s.container_security_context(c.container).runAsNonRoot
	value != null
	value != true
	path := array.concat(c.path, ["securityContext", "runAsNonRoot"])
	msg := sprintf("%s sets runAsNonRoot to %v and may run as root", [k8s.container_label(c), value])
}

# Neither the container nor the pod sets runAsNonRoot.
deny contains k8s.finding(msg, path, "unset", []) if {
	some c in data.socle.lib.k8s.containers
	not k8s.effective_setting(c, "runAsNonRoot")
	path := array.concat(c.path, ["securityContext", "runAsNonRoot"])
	msg := sprintf("%s may run as root: neither it nor the pod sets runAsNonRoot: true", [k8s.container_label(c)])
}
