package socle.controls.apparmor_unconfined

import data.socle.lib.k8s
import rego.v1

allowed_types := {"RuntimeDefault", "Localhost"}

annotation_prefix := "container.apparmor.security.beta.kubernetes.io/"

# The appArmorProfile field (Kubernetes 1.30+), at pod level.
deny contains k8s.finding(msg, path, t, fix) if {
	some [pod_path, spec] in data.socle.lib.k8s.pod_specs
	t := k8s.pod_security_context(spec).appArmorProfile.type
	not t in allowed_types
	path := array.concat(pod_path, ["securityContext", "appArmorProfile", "type"])
	msg := sprintf("the pod sets AppArmor profile type %v: containers that do not set their own run without AppArmor confinement", [t])
	fix := [{"op": "replace", "path": path, "value": "RuntimeDefault"}]
}

# ... and on a container.
deny contains k8s.finding(msg, path, t, fix) if {
	some c in data.socle.lib.k8s.containers
	t := k8s.container_security_context(c.container).appArmorProfile.type
	not t in allowed_types
	path := array.concat(c.path, ["securityContext", "appArmorProfile", "type"])
	msg := sprintf("%s sets AppArmor profile type %v and runs without AppArmor confinement", [k8s.container_label(c), t])
	fix := [{"op": "replace", "path": path, "value": "RuntimeDefault"}]
}

# The annotation (before 1.30, still honoured): runtime/default or localhost/<name> only.
deny contains k8s.finding(msg, path, value, fix) if {
	some [meta_path, meta] in data.socle.lib.k8s.pod_metadata
	some key, value in object.get(meta, "annotations", {})
	startswith(key, annotation_prefix)
	not allowed_annotation(value)
	path := array.concat(meta_path, ["annotations", key])
	msg := sprintf("annotation %s sets AppArmor profile %q for container %q: only runtime/default or localhost/<profile> keep it confined", [key, value, substring(key, count(annotation_prefix), -1)])
	fix := [{"op": "replace", "path": path, "value": "runtime/default"}]
}

allowed_annotation(value) if value == "runtime/default"

allowed_annotation(value) if {
	is_string(value)
	startswith(value, "localhost/")
}
