package socle.controls.service_nodeport

import data.socle.lib.k8s
import rego.v1

deny contains {
	"msg": sprintf("Service %q is of type NodePort: its ports are open on every node's address", [data.socle.lib.k8s.name]),
	"path": ["spec", "type"],
	"evidence": {"type": "NodePort", "nodePorts": [p.nodePort | some p in input.spec.ports; p.nodePort]},
} if {
	input.kind == "Service"
	input.spec.type == "NodePort"
}
