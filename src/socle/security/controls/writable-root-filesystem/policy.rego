package socle.controls.writable_root_filesystem

import data.socle.lib.k8s
import rego.v1

# Init and regular containers; ephemeral debug containers are short-lived tools.
deny contains k8s.finding(msg, path, evidence(value), []) if {
	some c in data.socle.lib.k8s.workload_containers
	value := object.get(k8s.container_security_context(c.container), "readOnlyRootFilesystem", null)
	value != true
	path := array.concat(c.path, ["securityContext", "readOnlyRootFilesystem"])
	msg := message(c, value)
}

message(c, null) := sprintf("%s has a writable root filesystem: readOnlyRootFilesystem is not set", [k8s.container_label(c)])

message(c, value) := sprintf("%s has a writable root filesystem: readOnlyRootFilesystem is %v", [k8s.container_label(c), value]) if value != null

evidence(null) := "unset"

evidence(value) := value if value != null
