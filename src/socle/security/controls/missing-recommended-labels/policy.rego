package socle.controls.missing_recommended_labels

import data.socle.lib.k8s
import rego.v1

required := [l | some l in object.get(data.socle.inputs, "recommendedLabels", []); is_string(l)]

labels := k8s.obj_labels(input)

missing := [l | some l in required; not labels[l]]

deny contains {
	"msg": sprintf("%s %q lacks the recommended labels %v", [input.kind, data.socle.lib.k8s.name, missing]),
	"path": ["metadata", "labels"],
	"evidence": missing,
	"fix": fix,
} if {
	input.kind in {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Service"}
	count(missing) > 0
	fix := [{"op": "add", "path": ["metadata", "labels", l], "value": data.socle.lib.k8s.name} |
		some l in missing
		l == "app.kubernetes.io/name"
		data.socle.lib.k8s.name != ""
	]
}
