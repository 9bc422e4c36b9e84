package socle.controls.naked_pod

import data.socle.lib.k8s
import rego.v1

deny contains {
	"msg": sprintf("Pod %q has no controller: nothing recreates it when its node goes away", [data.socle.lib.k8s.name]),
	"path": ["metadata", "ownerReferences"],
	"evidence": "no ownerReferences",
} if {
	input.kind == "Pod"
	count(object.get(input.metadata, "ownerReferences", [])) == 0
}
