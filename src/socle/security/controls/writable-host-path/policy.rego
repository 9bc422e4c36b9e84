package socle.controls.writable_host_path

import data.socle.lib.k8s
import rego.v1

deny contains k8s.finding(msg, path, host_path, fix) if {
	some c in data.socle.lib.k8s.containers
	host := {name: p | some [_, name, p] in k8s.host_path_volumes(c.pod)}
	some j, mount in c.container.volumeMounts
	host_path := host[mount.name]
	object.get(mount, "readOnly", false) != true
	path := array.concat(c.path, ["volumeMounts", j, "readOnly"])
	msg := sprintf("%s mounts node path %s writable at %v (volume %q)", [k8s.container_label(c), host_path, object.get(mount, "mountPath", "?"), mount.name])
	fix := [{"op": "add", "path": path, "value": true}]
}
