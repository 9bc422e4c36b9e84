package main

required_labels := ["app.kubernetes.io/name", "app.kubernetes.io/part-of"]

# 9. every object carries the ownership labels
deny_required_labels contains msg if {
	some obj in objects
	obj.kind != "CustomResourceDefinition"
	some label in required_labels
	not obj.metadata.labels[label]
	msg := sprintf("%s: missing label %s", [name(obj), label])
}
