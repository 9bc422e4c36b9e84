package socle.controls.default_namespace

import data.socle.lib.k8s
import rego.v1

deny contains {
	"msg": sprintf("%s %q is placed in the default namespace", [input.kind, data.socle.lib.k8s.name]),
	"path": ["metadata", "namespace"],
	"evidence": "default",
} if {
	input.metadata.namespace == "default"
}
