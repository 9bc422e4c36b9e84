package socle.controls.unsafe_sysctls

import data.socle.lib.k8s
import rego.v1

safe := {name | some name in data.socle.inputs.safeSysctls}

deny contains k8s.finding(msg, path, sysctl.name, []) if {
	some [pod_path, spec] in data.socle.lib.k8s.pod_specs
	some i, sysctl in k8s.pod_security_context(spec).sysctls
	not sysctl.name in safe
	path := array.concat(pod_path, ["securityContext", "sysctls", i, "name"])
	msg := sprintf("the pod sets sysctl %v = %v, which is not in the safe set: it can affect the whole node", [sysctl.name, object.get(sysctl, "value", "")])
}
