package socle.controls.host_port

import data.socle.lib.k8s
import rego.v1

# hostPort 0 (or unset) means no host port. Pods with hostNetwork get hostPort defaulted to
# containerPort by the API server; host-network (SCL-006) reports those.
deny contains k8s.finding(msg, path, port.hostPort, fix) if {
	some c in data.socle.lib.k8s.containers
	some j, port in c.container.ports
	port.hostPort != 0
	port.hostPort != null
	not port.hostPort in {p | some p in data.socle.inputs.allowedHostPorts}
	path := array.concat(c.path, ["ports", j, "hostPort"])
	msg := sprintf("%s binds port %v on the node (hostPort, containerPort %v)", [k8s.container_label(c), port.hostPort, object.get(port, "containerPort", "unset")])
	fix := [{"op": "remove", "path": path}]
}
