package socle.controls.selinux_custom_options

import data.socle.lib.k8s
import rego.v1

allowed_types := {t | some t in data.socle.inputs.allowedSELinuxTypes} | {""}

# [path of the seLinuxOptions object, its value, who sets it] at pod and container level.
options contains [array.concat(pod_path, ["securityContext", "seLinuxOptions"]), o, "the pod"] if {
	some [pod_path, spec] in data.socle.lib.k8s.pod_specs
	o := k8s.pod_security_context(spec).seLinuxOptions
	is_object(o)
}

options contains [array.concat(c.path, ["securityContext", "seLinuxOptions"]), o, k8s.container_label(c)] if {
	some c in data.socle.lib.k8s.containers
	o := k8s.container_security_context(c.container).seLinuxOptions
	is_object(o)
}

deny contains k8s.finding(msg, path, t, []) if {
	some [base, o, who] in options
	t := o.type
	t != null
	not t in allowed_types
	path := array.concat(base, ["type"])
	msg := sprintf("%s sets SELinux type %v, which is not a container type (%s)", [who, t, concat(", ", sort(data.socle.inputs.allowedSELinuxTypes))])
}

deny contains k8s.finding(msg, path, value, fix) if {
	some [base, o, who] in options
	some key in ["user", "role"]
	value := o[key]
	value != null
	value != ""
	path := array.concat(base, [key])
	msg := sprintf("%s sets a custom SELinux %s (%v)", [who, key, value])
	fix := [{"op": "remove", "path": path}]
}
