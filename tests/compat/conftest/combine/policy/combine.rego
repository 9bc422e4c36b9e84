package main

services contains name if {
	some f in input
	some doc in docs(f.contents)
	doc.kind == "Service"
	name := doc.metadata.name
}

docs(c) := c if is_array(c)

docs(c) := [c] if is_object(c)

deny contains msg if {
	some f in input
	some doc in docs(f.contents)
	doc.kind == "Deployment"
	app := doc.spec.selector.matchLabels.app
	not app in services
	msg := sprintf("Deployment %s has no Service named %s (in %s)", [doc.metadata.name, app, f.path])
}
