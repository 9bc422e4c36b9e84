package main

# 6. CPU and memory limits on every container
deny_resource_limits contains msg if {
	some [obj, c] in containers
	some resource in ["cpu", "memory"]
	not c.resources.limits[resource]
	msg := sprintf("%s: container %s has no %s limit", [name(obj), c.name, resource])
}

# 7. liveness and readiness probes on long-running containers
warn_probes contains msg if {
	some [obj, spec] in pod_specs
	obj.kind != "Job"
	some c in spec.containers
	some probe in ["livenessProbe", "readinessProbe"]
	not c[probe]
	msg := sprintf("%s: container %s has no %s", [name(obj), c.name, probe])
}

# 8. production Deployments run at least two replicas
deny_replicas contains msg if {
	some obj in workloads
	obj.kind == "Deployment"
	endswith(object.get(obj.metadata, "namespace", ""), "-prod")
	replicas := object.get(obj.spec, "replicas", 1)
	replicas < 2
	msg := sprintf("%s: %v replica(s) in production, want at least 2", [name(obj), replicas])
}
