package main

# 1. containers must not run as root: runAsNonRoot on the pod or on the container
deny_run_as_root contains msg if {
	some [obj, c] in containers
	not pod_non_root(obj)
	not object.get(c, ["securityContext", "runAsNonRoot"], false)
	msg := sprintf("%s: container %s may run as root (set securityContext.runAsNonRoot)", [name(obj), c.name])
}

pod_non_root(obj) if obj.spec.template.spec.securityContext.runAsNonRoot == true

# 2. no privileged containers
deny_privileged contains msg if {
	some [obj, c] in containers
	c.securityContext.privileged == true
	msg := sprintf("%s: container %s is privileged", [name(obj), c.name])
}

# 3. no hostPath volumes
deny_host_path contains msg if {
	some [obj, spec] in pod_specs
	some v in spec.volumes
	v.hostPath
	msg := sprintf("%s: volume %s mounts the host path %s", [name(obj), v.name, v.hostPath.path])
}
