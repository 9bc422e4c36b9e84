package socle.controls.ssh_port_exposed

import data.socle.lib.k8s
import rego.v1

deny contains {
	"msg": sprintf("container %q listens on the SSH port 22", [c.container.name]),
	"path": array.concat(c.path, ["ports", j, "containerPort"]),
	"evidence": 22,
} if {
	some c in data.socle.lib.k8s.containers
	some j, p in c.container.ports
	p.containerPort == 22
}

deny contains {
	"msg": sprintf("Service %q forwards the SSH port 22 (%s)", [data.socle.lib.k8s.name, field]),
	"path": ["spec", "ports", j, field],
	"evidence": p[field],
} if {
	input.kind == "Service"
	some j, p in input.spec.ports
	some field in ["port", "targetPort"]
	p[field] in {22, "22"}
}
