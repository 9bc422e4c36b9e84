package socle.controls.unmasked_proc_mount

import data.socle.lib.k8s
import rego.v1

allowed_in_user_namespace(spec) if {
	data.socle.inputs.allowUnmaskedProcMountInUserNamespace == true
	spec.hostUsers == false
}

deny contains k8s.finding(msg, path, value, fix) if {
	some c in data.socle.lib.k8s.containers
	value := k8s.container_security_context(c.container).procMount
	value != null
	value != "Default"
	not allowed_in_user_namespace(c.pod)
	path := array.concat(c.path, ["securityContext", "procMount"])
	msg := sprintf("%s sets procMount %v: /proc and /sys are not masked", [k8s.container_label(c), value])
	fix := [{"op": "replace", "path": path, "value": "Default"}]
}
