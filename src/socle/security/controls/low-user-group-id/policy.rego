package socle.controls.low_user_group_id

import data.socle.lib.k8s
import rego.v1

maximum := data.socle.inputs.lowIdMaximum

low_user(v) if {
	is_number(v)
	v > 0
	v <= maximum
}

low_group(v) if {
	is_number(v)
	v >= 0
	v <= maximum
}

group_word(0) := "the root group (0)"

group_word(v) := sprintf("low gid %v", [v]) if v != 0

# runAsUser / runAsGroup: the value each container runs with (its own, else the pod's).
# A pod-level value is reported once, when at least one container inherits it.
pod_level(c, key) if object.get(k8s.container_security_context(c.container), key, null) == null

deny contains k8s.finding(msg, path, v, []) if {
	some c in data.socle.lib.k8s.containers
	[path, v] := k8s.effective_setting(c, "runAsUser")
	low_user(v)
	not pod_level(c, "runAsUser")
	msg := sprintf("%s runs as low uid %v, which may belong to a user of the node (use an id above %v)", [k8s.container_label(c), v, maximum])
}

deny contains k8s.finding(msg, path, v, []) if {
	some c in data.socle.lib.k8s.containers
	pod_level(c, "runAsUser")
	[path, v] := k8s.effective_setting(c, "runAsUser")
	low_user(v)
	msg := sprintf("the pod sets runAsUser to low uid %v, which may belong to a user of the node (use an id above %v)", [v, maximum])
}

deny contains k8s.finding(msg, path, v, []) if {
	some c in data.socle.lib.k8s.containers
	[path, v] := k8s.effective_setting(c, "runAsGroup")
	low_group(v)
	not pod_level(c, "runAsGroup")
	msg := sprintf("%s runs with %s as its primary group (use an id above %v)", [k8s.container_label(c), group_word(v), maximum])
}

deny contains k8s.finding(msg, path, v, []) if {
	some c in data.socle.lib.k8s.containers
	pod_level(c, "runAsGroup")
	[path, v] := k8s.effective_setting(c, "runAsGroup")
	low_group(v)
	msg := sprintf("the pod sets runAsGroup to %s (use an id above %v)", [group_word(v), maximum])
}

# fsGroup and supplementalGroups exist only at pod level; 0 is the root group.
deny contains k8s.finding(msg, path, 0, []) if {
	some [pod_path, spec] in data.socle.lib.k8s.pod_specs
	k8s.pod_security_context(spec).fsGroup == 0
	path := array.concat(pod_path, ["securityContext", "fsGroup"])
	msg := "the pod sets fsGroup: 0: volumes become owned by the root group and every process joins it"
}

deny contains k8s.finding(msg, path, 0, []) if {
	some [pod_path, spec] in data.socle.lib.k8s.pod_specs
	some i, g in k8s.pod_security_context(spec).supplementalGroups
	g == 0
	path := array.concat(pod_path, ["securityContext", "supplementalGroups", i])
	msg := "the pod adds the root group (0) to supplementalGroups"
}
