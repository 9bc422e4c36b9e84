package socle.controls.dangerous_capabilities

import data.socle.lib.k8s
import rego.v1

allowed := {name | some name in data.socle.inputs.allowedCapabilities}

what := {
	"ALL": "every capability",
	"SYS_ADMIN": "close to full root: mounts, namespaces, BPF",
	"NET_ADMIN": "reconfigures interfaces, routes and firewall rules",
	"NET_RAW": "raw sockets: spoofed packets, ARP and DNS poisoning",
	"SYS_PTRACE": "traces other processes and reads their memory",
	"SYS_MODULE": "loads kernel modules",
	"SYS_RAWIO": "raw access to devices and I/O ports",
	"SYS_BOOT": "reboots the node",
	"SYS_TIME": "sets the node's clock",
	"DAC_READ_SEARCH": "reads any file, and opens host files by handle",
	"BPF": "loads BPF programs into the kernel",
	"PERFMON": "observes every process through perf events",
	"LINUX_IMMUTABLE": "changes immutable and append-only files",
	"MAC_ADMIN": "changes the AppArmor or SELinux policy",
	"MAC_OVERRIDE": "bypasses the AppArmor or SELinux policy",
	"SYSLOG": "reads and clears the kernel log",
	"IPC_LOCK": "locks memory, bypassing limits",
	"SYS_RESOURCE": "overrides resource limits",
}

note(name) := sprintf(" (write it as %s: Pod Security admission compares names exactly)", [k8s.capability_name(name)]) if {
	k8s.capability_name(name) in allowed
} else := sprintf(" (%s)", [what[k8s.capability_name(name)]]) if {
	what[k8s.capability_name(name)]
} else := ""

# The automatic fix keeps the allowed entries: one operation per container, the same for every
# finding of that container, so applying several findings is consistent.
fix(c) := [{"op": "remove", "path": array.concat(c.path, ["securityContext", "capabilities", "add"])}] if {
	count(kept(c)) == 0
} else := [{"op": "replace", "path": array.concat(c.path, ["securityContext", "capabilities", "add"]), "value": kept(c)}]

kept(c) := [k | some name in c.container.securityContext.capabilities.add; some k in kept_as(name)]

# An allowed entry stays; one that is allowed once written the standard way is rewritten.
kept_as(name) := [name] if name in allowed

else := [k8s.capability_name(name)] if k8s.capability_name(name) in allowed

else := []

deny contains k8s.finding(msg, path, name, fix(c)) if {
	some c in data.socle.lib.k8s.containers
	some [i, name] in k8s.capability_entries(c.container, "add")
	not name in allowed
	path := array.concat(c.path, ["securityContext", "capabilities", "add", i])
	msg := sprintf("%s adds capability %s%s", [k8s.container_label(c), name, note(name)])
}
