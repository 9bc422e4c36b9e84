package socle.controls.container_runtime_socket

import data.socle.lib.k8s
import rego.v1

# A hostPath volume exposes a socket when it is the socket or a directory above it.
deny contains k8s.finding(msg, path, host_path, []) if {
	some [pod_path, spec] in data.socle.lib.k8s.pod_specs
	some [i, name, host_path] in k8s.host_path_volumes(spec)
	sockets := sort([s |
		some raw in data.socle.inputs.runtimeSockets
		s := k8s.clean_host_path(raw)
		k8s.host_path_within(s, host_path)
	])
	count(sockets) > 0
	path := array.concat(pod_path, ["volumes", i, "hostPath", "path"])
	msg := message(name, host_path, sockets)
}

message(name, host_path, sockets) := sprintf("volume %q mounts the container runtime socket %s from the node", [name, host_path]) if {
	sockets == [host_path]
} else := sprintf("volume %q mounts node directory %s, which holds the container runtime socket %s", [name, host_path, sockets[0]]) if {
	count(sockets) == 1
} else := sprintf("volume %q mounts node directory %s, which holds the container runtime sockets %s", [name, host_path, concat(", ", sockets)])
