package socle.controls.tiller_deployed

import data.socle.lib.k8s
import rego.v1

deny contains {
	"msg": sprintf("container %q runs Helm 2 Tiller (%s): an unauthenticated endpoint with cluster-wide rights", [c.container.name, image]),
	"path": array.concat(c.path, ["image"]),
	"evidence": image,
} if {
	some pair in data.socle.lib.k8s.container_images
	c := pair[0]
	image := pair[1]
	contains(lower(image), "tiller") # a cheap first test
	segs := split(lower(k8s.image_name(image)), "/")
	segs[count(segs) - 1] == "tiller"
}
