# The shop team's own rules, on top of socle's schema checks and security controls.
# conftest-compatible: `socle test -p policy apps/` and `conftest test -p policy apps/` agree.
package main

import rego.v1

workload_kinds := {"Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job"}

# Every workload says which product it belongs to, so alerts and costs find their owner.
deny contains msg if {
	workload_kinds[input.kind]
	not input.metadata.labels["app.kubernetes.io/part-of"]
	msg := sprintf("%s %s: add the label app.kubernetes.io/part-of (the product it belongs to)", [input.kind, input.metadata.name])
}

# Images come from the company registry only.
deny contains msg if {
	some container in pod_spec.containers
	not startswith(container.image, "registry.example.com/")
	msg := sprintf("%s %s: container %q uses %q; images come from registry.example.com", [input.kind, input.metadata.name, container.name, container.image])
}

# Deployments serving traffic run more than one replica.
warn contains msg if {
	input.kind == "Deployment"
	object.get(input.spec, "replicas", 1) < 2
	msg := sprintf("Deployment %s runs a single replica", [input.metadata.name])
}

pod_spec := input.spec.template.spec if input.kind in {"Deployment", "StatefulSet", "DaemonSet", "Job"}

pod_spec := input.spec.jobTemplate.spec.template.spec if input.kind == "CronJob"
