package main

allowed_registries := ["registry.example.com/", "ghcr.io/example/"]

# 4. images are pinned: no :latest, no missing tag
deny_latest_tag contains {"msg": msg, "container": c.name, "image": c.image} if {
	some [obj, c] in containers
	not pinned(c.image)
	msg := sprintf("%s: image %s of container %s is not pinned to a version", [name(obj), c.image, c.name])
}

pinned(image) if {
	contains(image, "@sha256:")
}

pinned(image) if {
	not contains(image, "@")
	parts := split(image, "/")
	last := parts[count(parts) - 1]
	contains(last, ":")
	not endswith(last, ":latest")
}

# 5. images come from the company registries (a warning while teams migrate)
warn_image_registry contains msg if {
	some [obj, c] in containers
	not from_allowed_registry(c.image)
	msg := sprintf("%s: image %s is not from an approved registry", [name(obj), c.image])
}

from_allowed_registry(image) if {
	some prefix in allowed_registries
	startswith(image, prefix)
}
