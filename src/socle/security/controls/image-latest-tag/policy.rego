package socle.controls.image_latest_tag

import data.socle.lib.k8s
import rego.v1

deny contains {
	"msg": sprintf("container %q uses image %q %s: what runs changes without any manifest change", [c.container.name, image, reason]),
	"path": array.concat(c.path, ["image"]),
	"evidence": image,
} if {
	some pair in data.socle.lib.k8s.container_images
	c := pair[0]
	image := pair[1]
	k8s.image_digest(image) == ""
	reason := mutable_reason(k8s.image_tag(image))
}

mutable_reason(tag) := "without a tag (it means latest)" if tag == ""

mutable_reason(tag) := "tagged latest" if lower(tag) == "latest"
