package socle.controls.host_pid

import data.socle.lib.k8s
import rego.v1

deny contains k8s.finding(msg, path, value, fix) if {
	some [pod_path, spec] in data.socle.lib.k8s.pod_specs
	value := spec.hostPID
	value == true
	path := array.concat(pod_path, ["hostPID"])
	msg := sprintf("the pod shares the host's process namespace (hostPID: %v)", [value])
	fix := [{"op": "replace", "path": path, "value": false}]
}
