package socle.controls.kubernetes_dashboard_deployed

import data.socle.lib.k8s
import rego.v1

dashboard_images := {"kubernetesui/dashboard", "kubernetesui/dashboard-web", "kubernetesui/dashboard-api",
	"kubernetes-dashboard-amd64", "kubernetes-dashboard"}

# The image's repository path without registry: "docker.io/kubernetesui/dashboard" -> "kubernetesui/dashboard".
repository(image) := r if {
	k8s.image_registry(image) != "docker.io"
	segs := split(k8s.image_name(image), "/")
	r := concat("/", array.slice(segs, 1, count(segs)))
} else := trim_prefix(k8s.image_name(image), "docker.io/")

deny contains {
	"msg": sprintf("container %q runs the Kubernetes Dashboard (%s)", [c.container.name, image]),
	"path": array.concat(c.path, ["image"]),
	"evidence": image,
} if {
	some pair in data.socle.lib.k8s.container_images
	c := pair[0]
	image := pair[1]
	contains(lower(image), "dashboard") # every known name holds it: a cheap first test
	repo := lower(repository(image))
	some known in dashboard_images
	dashboard_repo(repo, known)
}

dashboard_repo(repo, known) if repo == known

dashboard_repo(repo, known) if {
	not contains(known, "/")
	endswith(repo, concat("/", ["", known]))
}
