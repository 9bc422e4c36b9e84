package socle.controls.secret_in_env

import data.socle.lib.k8s
import rego.v1

deny contains {
	"msg": sprintf("container %q reads Secret %q into environment variable %q", [c.container.name, object.get(ref, "name", ""), e.name]),
	"path": array.concat(c.path, ["env", i, "valueFrom", "secretKeyRef"]),
	"evidence": sprintf("%s/%s", [object.get(ref, "name", ""), object.get(ref, "key", "")]),
} if {
	some c in data.socle.lib.k8s.containers
	some i, e in c.container.env
	ref := e.valueFrom.secretKeyRef
	is_object(ref)
}

deny contains {
	"msg": sprintf("container %q loads every key of Secret %q as environment variables", [c.container.name, object.get(ref, "name", "")]),
	"path": array.concat(c.path, ["envFrom", i, "secretRef"]),
	"evidence": object.get(ref, "name", ""),
} if {
	some c in data.socle.lib.k8s.containers
	some i, e in c.container.envFrom
	ref := e.secretRef
	is_object(ref)
}
