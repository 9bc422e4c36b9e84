package socle.controls.windows_host_process

import data.socle.lib.k8s
import rego.v1

deny contains k8s.finding(msg, path, true, fix) if {
	some [pod_path, spec] in data.socle.lib.k8s.pod_specs
	k8s.pod_security_context(spec).windowsOptions.hostProcess == true
	path := array.concat(pod_path, ["securityContext", "windowsOptions", "hostProcess"])
	msg := "the pod runs its containers as Windows HostProcess containers, directly on the node"
	fix := [{"op": "replace", "path": path, "value": false}]
}

deny contains k8s.finding(msg, path, true, fix) if {
	some c in data.socle.lib.k8s.containers
	k8s.container_security_context(c.container).windowsOptions.hostProcess == true
	path := array.concat(c.path, ["securityContext", "windowsOptions", "hostProcess"])
	msg := sprintf("%s is a Windows HostProcess container and runs directly on the node", [k8s.container_label(c)])
	fix := [{"op": "replace", "path": path, "value": false}]
}
