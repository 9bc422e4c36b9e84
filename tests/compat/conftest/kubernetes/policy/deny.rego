package main

import data.kubernetes

name := input.metadata.name

deny contains msg if {
	kubernetes.is_deployment
	not input.spec.template.spec.securityContext.runAsNonRoot
	msg := sprintf("Containers must not run as root in Deployment %s", [name])
}

deny contains msg if {
	kubernetes.is_deployment
	not input.spec.selector.matchLabels.app
	msg := "Containers must provide app label for pod selectors"
}

violation_latest_tag contains {"msg": msg, "details": {"container": c.name}, "severity": "high"} if {
	some c in kubernetes.containers
	endswith(c.image, ":latest")
	msg := sprintf("image %s uses the latest tag", [c.image])
}

warn_replicas contains msg if {
	kubernetes.is_deployment
	input.spec.replicas < 2
	msg := sprintf("Deployment %s has fewer than 2 replicas", [name])
}

deny_privileged contains msg if {
	some c in kubernetes.containers
	c.securityContext.privileged
	msg := sprintf("container %s is privileged", [c.name])
}

exception contains rules if {
	input.metadata.labels["policy.example.com/allow-privileged"] == "true"
	rules := ["privileged"]
}
