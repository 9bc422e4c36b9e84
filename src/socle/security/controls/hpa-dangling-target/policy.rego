package socle.controls.hpa_dangling_target

import data.socle.lib.k8s
import rego.v1

target_exists(ref) if {
	some o in k8s.inventory_in(ref.kind, data.socle.lib.k8s.namespace)
	k8s.obj_name(o) == ref.name
}

deny contains {
	"msg": sprintf("HorizontalPodAutoscaler %q scales %s %q, which is not in namespace %q of the input", [data.socle.lib.k8s.name, ref.kind, ref.name, data.socle.lib.k8s.namespace]),
	"path": ["spec", "scaleTargetRef", "name"],
	"evidence": sprintf("%s/%s", [ref.kind, ref.name]),
} if {
	input.kind == "HorizontalPodAutoscaler"
	ref := input.spec.scaleTargetRef
	is_string(ref.kind)
	is_string(ref.name)
	not target_exists(ref)
}
