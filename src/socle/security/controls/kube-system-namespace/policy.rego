package socle.controls.kube_system_namespace

import data.socle.lib.k8s
import rego.v1

deny contains {
	"msg": sprintf("%s %q runs in kube-system, next to the cluster's own components", [input.kind, data.socle.lib.k8s.name]),
	"path": ["metadata", "namespace"],
	"evidence": "kube-system",
} if {
	data.socle.lib.k8s.pod_kinds[input.kind]
	input.metadata.namespace == "kube-system"
}
