package socle.controls.net_raw_capability

import data.socle.lib.k8s
import rego.v1

# Runtimes accept names in any case and with the CAP_ prefix: compare them that way.
covers_net_raw(name) if k8s.capability_name(name) in {"NET_RAW", "ALL"}

adds(container) if {
	some [_, name] in k8s.capability_entries(container, "add")
	covers_net_raw(name)
}

drops(container) if {
	some [_, name] in k8s.capability_entries(container, "drop")
	covers_net_raw(name)
}

drop_path(c) := array.concat(c.path, ["securityContext", "capabilities", "drop"])

# Same shape as capabilities-not-dropped's fix, so both apply together.
append_drop(c, value) := [{"op": "add", "path": array.concat(drop_path(c), ["-"]), "value": value}] if {
	is_array(c.container.securityContext.capabilities.drop)
} else := [
	{"op": "add", "path": drop_path(c), "value": []},
	{"op": "add", "path": array.concat(drop_path(c), ["-"]), "value": value},
] if {
	object.get(c.container, ["securityContext", "capabilities", "drop"], null) == null
} else := []

deny contains k8s.finding(msg, path, name, []) if {
	some c in data.socle.lib.k8s.containers
	not k8s.is_windows_pod(c.pod)
	some [i, name] in k8s.capability_entries(c.container, "add")
	covers_net_raw(name)
	path := array.concat(c.path, ["securityContext", "capabilities", "add", i])
	msg := sprintf("%s adds %s, which gives it raw sockets (NET_RAW)", [k8s.container_label(c), name])
}

deny contains k8s.finding(msg, drop_path(c), evidence, append_drop(c, "NET_RAW")) if {
	some c in data.socle.lib.k8s.containers
	not k8s.is_windows_pod(c.pod)
	not adds(c.container)
	not drops(c.container)
	evidence := object.get(c.container, ["securityContext", "capabilities", "drop"], "unset")
	msg := sprintf("%s does not drop NET_RAW (or ALL), which most runtimes grant by default", [k8s.container_label(c)])
}
