package socle.controls.privileged_container

import data.socle.lib.k8s
import rego.v1

deny contains {
	"msg": sprintf("container %q runs privileged: it has every capability of the host", [c.container.name]),
	"path": path,
	"evidence": true,
	"fix": [{"op": "replace", "path": path, "value": false}],
} if {
	some c in data.socle.lib.k8s.containers
	c.container.securityContext.privileged == true
	path := array.concat(c.path, ["securityContext", "privileged"])
}
