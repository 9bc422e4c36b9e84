package socle.controls.deprecated_image_registry

import data.socle.lib.k8s
import rego.v1

old_prefixes := ["k8s.gcr.io/", "gcr.io/google_containers/", "gcr.io/google-containers/"]

deny contains {
	"msg": sprintf("container %q pulls %q from a frozen registry; use %q", [c.container.name, image, new_image]),
	"path": path,
	"evidence": image,
	"fix": [{"op": "replace", "path": path, "value": new_image}],
} if {
	some pair in data.socle.lib.k8s.container_images
	c := pair[0]
	image := pair[1]
	some prefix in old_prefixes
	startswith(lower(image), prefix)
	new_image := concat("", ["registry.k8s.io/", substring(image, count(prefix), -1)])
	path := array.concat(c.path, ["image"])
}
