package socle.controls.allow_privilege_escalation

import data.socle.lib.k8s
import rego.v1

# Privileged containers and CAP_SYS_ADMIN always allow escalation, and the API refuses
# allowPrivilegeEscalation: false next to them: those findings carry no automatic fix.
forced(container) if container.securityContext.privileged == true

forced(container) if {
	some [_, name] in k8s.capability_entries(container, "add")
	k8s.capability_name(name) == "SYS_ADMIN"
}

hint(container) := "; it is privileged or adds SYS_ADMIN, which always allows escalation: remove that first" if {
	forced(container)
} else := ""

shown(value) := sprintf("the string %q, not the boolean false", [value]) if is_string(value)

else := sprintf("%v", [value])

deny contains k8s.finding(msg, path, value, fix) if {
	some c in data.socle.lib.k8s.containers
	not k8s.is_windows_pod(c.pod)
	value := c.container.securityContext.allowPrivilegeEscalation
	value != false
	value != null
	path := array.concat(c.path, ["securityContext", "allowPrivilegeEscalation"])
	msg := sprintf("%s allows privilege escalation: allowPrivilegeEscalation is %s%s", [k8s.container_label(c), shown(value), hint(c.container)])
	fix := [op | not forced(c.container); op := {"op": "replace", "path": path, "value": false}]
}

deny contains k8s.finding(msg, path, "unset", fix) if {
	some c in data.socle.lib.k8s.containers
	not k8s.is_windows_pod(c.pod)
	object.get(k8s.container_security_context(c.container), "allowPrivilegeEscalation", null) == null
	path := array.concat(c.path, ["securityContext", "allowPrivilegeEscalation"])
	msg := sprintf("%s does not set allowPrivilegeEscalation: false, and Kubernetes allows escalation by default%s", [k8s.container_label(c), hint(c.container)])
	fix := [op | not forced(c.container); op := {"op": "add", "path": path, "value": false}]
}
