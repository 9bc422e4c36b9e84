package socle.controls.sudo_in_command

import data.socle.lib.k8s
import rego.v1

deny contains {
	"msg": sprintf("container %q calls sudo in its %s", [c.container.name, field]),
	"path": array.concat(c.path, [field, j]),
	"evidence": arg,
} if {
	some c in data.socle.lib.k8s.containers
	some field in ["command", "args"]
	some j, arg in c.container[field]
	is_string(arg)
	regex.match(`(^|[\s;&|(/])sudo(\s|$)`, arg)
}
