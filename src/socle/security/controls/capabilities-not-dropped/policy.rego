package socle.controls.capabilities_not_dropped

import data.socle.lib.k8s
import rego.v1

# The Baseline set a container may add; Restricted narrows it to NET_BIND_SERVICE. Entries
# outside the Baseline set are SCL-013's findings.
baseline_addable := {
	"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
	"NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}

restricted_addable := {"NET_BIND_SERVICE"}

drops_all(container) if "ALL" in container.securityContext.capabilities.drop

drop_path(c) := array.concat(c.path, ["securityContext", "capabilities", "drop"])

# Append to an existing list; create the list first when there is none (an identical first
# operation from net-raw-capability is applied once).
append_drop(c, value) := [{"op": "add", "path": array.concat(drop_path(c), ["-"]), "value": value}] if {
	is_array(c.container.securityContext.capabilities.drop)
} else := [
	{"op": "add", "path": drop_path(c), "value": []},
	{"op": "add", "path": array.concat(drop_path(c), ["-"]), "value": value},
] if {
	object.get(c.container, ["securityContext", "capabilities", "drop"], null) == null
} else := []

why(c) := " (\"ALL\" must be written in upper case)" if {
	some name in c.container.securityContext.capabilities.drop
	is_string(name)
	k8s.capability_name(name) == "ALL"
} else := ""

deny contains k8s.finding(msg, drop_path(c), evidence, append_drop(c, "ALL")) if {
	some c in data.socle.lib.k8s.containers
	not k8s.is_windows_pod(c.pod)
	not drops_all(c.container)
	evidence := object.get(c.container, ["securityContext", "capabilities", "drop"], "unset")
	msg := sprintf("%s does not drop ALL capabilities%s, so it keeps the runtime's default set", [k8s.container_label(c), why(c)])
}

deny contains k8s.finding(msg, path, name, []) if {
	some c in data.socle.lib.k8s.containers
	not k8s.is_windows_pod(c.pod)
	some [i, name] in k8s.capability_entries(c.container, "add")
	name in baseline_addable
	not name in restricted_addable
	path := array.concat(c.path, ["securityContext", "capabilities", "add", i])
	msg := sprintf("%s adds capability %s: the Restricted standard allows adding only NET_BIND_SERVICE", [k8s.container_label(c), name])
}
