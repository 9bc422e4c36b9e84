package socle.controls.image_pull_policy_not_always

import data.socle.lib.k8s
import rego.v1

# Explicit policy: replace it.
deny contains {
	"msg": sprintf("container %q pulls mutable image %q with imagePullPolicy %s: a node can run a stale cached image", [c.container.name, image, policy]),
	"path": path,
	"evidence": policy,
	"fix": [{"op": "replace", "path": path, "value": "Always"}],
} if {
	some pair in data.socle.lib.k8s.container_images
	c := pair[0]
	image := pair[1]
	k8s.image_digest(image) == ""
	policy := c.container.imagePullPolicy
	is_string(policy)
	policy != "Always"
	path := array.concat(c.path, ["imagePullPolicy"])
}

# No policy: Kubernetes defaults to IfNotPresent unless the tag is latest or missing.
deny contains {
	"msg": sprintf("container %q pulls mutable image %q with the default imagePullPolicy IfNotPresent: a node can run a stale cached image", [c.container.name, image]),
	"path": path,
	"evidence": "IfNotPresent (default)",
	"fix": [{"op": "add", "path": path, "value": "Always"}],
} if {
	some pair in data.socle.lib.k8s.container_images
	c := pair[0]
	image := pair[1]
	k8s.image_digest(image) == ""
	not is_string(object.get(c.container, "imagePullPolicy", null)) # (not is_string(missing): undefined in OPA)
	not lower(k8s.image_tag(image)) in {"", "latest"}
	path := array.concat(c.path, ["imagePullPolicy"])
}
