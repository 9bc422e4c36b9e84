package socle.controls.liveness_probe_missing

import data.socle.lib.k8s
import rego.v1

# Long-running pods only: Jobs and CronJobs run to completion, and so does a bare Pod whose
# restartPolicy is Never or OnFailure. Regular containers only (init containers cannot have
# probes unless they are sidecars, which are not required to; ephemeral ones cannot at all).
long_running := {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"}

runs_to_completion(spec) if spec.restartPolicy in {"Never", "OnFailure"}

deny contains k8s.finding(msg, path, "unset", []) if {
	long_running[input.kind]
	some c in data.socle.lib.k8s.containers
	c.field == "containers"
	not runs_to_completion(c.pod)
	object.get(c.container, "livenessProbe", null) == null
	path := array.concat(c.path, ["livenessProbe"])
	msg := sprintf("%s has no liveness probe: the kubelet restarts it only when its process exits", [k8s.container_label(c)])
}
