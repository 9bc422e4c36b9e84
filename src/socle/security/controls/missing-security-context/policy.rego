package socle.controls.missing_security_context

import data.socle.lib.k8s
import rego.v1

# Only when neither level says anything: a pod-level securityContext shows the workload's
# security was considered, and the specific controls check what is still missing.
deny contains k8s.finding(msg, path, "unset", []) if {
	some c in data.socle.lib.k8s.containers
	count(k8s.container_security_context(c.container)) == 0
	count(k8s.pod_security_context(c.pod)) == 0
	path := array.concat(c.path, ["securityContext"])
	msg := sprintf("neither %s nor its pod sets a securityContext: it runs with every default (often as root, with escalation allowed)", [k8s.container_label(c)])
}
