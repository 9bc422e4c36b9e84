package socle.controls.image_registry_not_allowed

import data.socle.lib.k8s
import rego.v1

allowed := [trim_right(lower(r), "/") |
	some r in object.get(data.socle.inputs, "allowedRegistries", [])
	is_string(r)
	r != ""
]

# The image's full name with its registry ("nginx" is "docker.io/library/nginx").
full_name(image) := lower(image) if {
	k8s.image_registry(image) != "docker.io"
} else := concat("/", ["docker.io", trim_prefix(lower(image), "docker.io/")]) if {
	contains(trim_prefix(lower(image), "docker.io/"), "/")
} else := concat("/", ["docker.io/library", trim_prefix(lower(image), "docker.io/")])

allowed_image(image) if {
	some prefix in allowed
	startswith(full_name(image), concat("", [prefix, "/"]))
}

deny contains {
	"msg": sprintf("container %q pulls %q from %s, which is not an allowed registry", [c.container.name, image, k8s.image_registry(image)]),
	"path": array.concat(c.path, ["image"]),
	"evidence": image,
} if {
	count(allowed) > 0
	some pair in data.socle.lib.k8s.container_images
	c := pair[0]
	image := pair[1]
	not allowed_image(image)
}
