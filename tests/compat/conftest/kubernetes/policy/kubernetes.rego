package kubernetes

is_deployment if input.kind == "Deployment"

is_service if input.kind == "Service"

containers contains c if {
	some c in input.spec.template.spec.containers
}
