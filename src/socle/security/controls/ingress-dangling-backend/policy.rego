package socle.controls.ingress_dangling_backend

import data.socle.lib.k8s
import rego.v1

# [path to the service name, name] of every backend (networking.k8s.io/v1 and v1beta1 forms).
backends contains [["spec", "defaultBackend", "service", "name"], input.spec.defaultBackend.service.name]

backends contains [["spec", "backend", "serviceName"], input.spec.backend.serviceName]

backends contains [p, name] if {
	some i, rule in input.spec.rules
	some j, path in rule.http.paths
	name := path.backend.service.name
	p := ["spec", "rules", i, "http", "paths", j, "backend", "service", "name"]
}

backends contains [p, name] if {
	some i, rule in input.spec.rules
	some j, path in rule.http.paths
	name := path.backend.serviceName
	p := ["spec", "rules", i, "http", "paths", j, "backend", "serviceName"]
}

deny contains {
	"msg": sprintf("Ingress %q routes to Service %q, which is not in namespace %q of the input", [data.socle.lib.k8s.name, b[1], data.socle.lib.k8s.namespace]),
	"path": b[0],
	"evidence": b[1],
} if {
	input.kind == "Ingress"
	some b in backends
	is_string(b[1])
	count(k8s.named("Service", data.socle.lib.k8s.namespace, b[1])) == 0
}
