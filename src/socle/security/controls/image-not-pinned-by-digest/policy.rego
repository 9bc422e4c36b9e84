package socle.controls.image_not_pinned_by_digest

import data.socle.lib.k8s
import rego.v1

deny contains {
	"msg": sprintf("container %q uses image %q without a digest: the tag can be moved to other content", [c.container.name, image]),
	"path": array.concat(c.path, ["image"]),
	"evidence": image,
} if {
	some pair in data.socle.lib.k8s.container_images
	c := pair[0]
	image := pair[1]
	k8s.image_digest(image) == ""
}
