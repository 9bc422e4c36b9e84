package main

deny[msg] {
	input.kind == "Deployment"
	not input.spec.template.spec.securityContext.runAsNonRoot
	msg = sprintf("Containers must not run as root in Deployment %s", [input.metadata.name])
}

warn[msg] {
	re_match("^hello", input.metadata.name)
	msg := "names starting with hello are discouraged"
}

violation_ports[{"msg": msg, "port": p}] {
	p := input.spec.ports[_].port
	p < 1024
	msg := sprintf("port %d is privileged", [p])
}

is_service {
	input.kind == "Service"
}

kind_label = "service" {
	is_service
} else = "other" {
	true
}

exception[rules] {
	input.metadata.name == "legacy"
	rules = ["ports"]
}
