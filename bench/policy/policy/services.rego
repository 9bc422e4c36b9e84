package main

# 10. Services stay inside the cluster; expose them through an Ingress
violation_service_type contains {"msg": msg, "type": obj.spec.type} if {
	some obj in objects
	obj.kind == "Service"
	obj.spec.type in {"LoadBalancer", "NodePort"}
	msg := sprintf("%s: type %s exposes the Service outside the cluster", [name(obj), obj.spec.type])
}
