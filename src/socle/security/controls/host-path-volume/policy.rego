package socle.controls.host_path_volume

import data.socle.lib.k8s
import rego.v1

allowed(p) if {
	some dir in data.socle.inputs.allowedHostPaths
	k8s.host_path_within(p, k8s.clean_host_path(dir))
}

deny contains k8s.finding(msg, path, volume.hostPath.path, []) if {
	some [pod_path, spec] in data.socle.lib.k8s.pod_specs
	some i, volume in spec.volumes
	is_object(volume.hostPath)
	not allowed(k8s.clean_host_path(object.get(volume.hostPath, "path", "")))
	path := array.concat(pod_path, ["volumes", i, "hostPath"])
	msg := sprintf("volume %q mounts %v from the node (hostPath)", [object.get(volume, "name", ""), object.get(volume.hostPath, "path", "an unset path")])
}
