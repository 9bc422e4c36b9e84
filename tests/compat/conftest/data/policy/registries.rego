package main

deny contains msg if {
	some c in input.spec.containers
	not allowed(c.image)
	msg := sprintf("image %s is not from an allowed registry", [c.image])
}

allowed(image) if {
	some prefix in data.registries.allowed
	startswith(image, prefix)
}

warn contains msg if {
	input.metadata.namespace in data.exclusions.namespaces
	msg := sprintf("namespace %s is excluded from admission", [input.metadata.namespace])
}
