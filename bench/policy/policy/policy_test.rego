package main

pod(containers) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {
		"name": "web",
		"namespace": "shop-prod",
		"labels": {"app.kubernetes.io/name": "web", "app.kubernetes.io/part-of": "shop"},
	},
	"spec": {"replicas": 3, "template": {"spec": {"containers": containers}}},
}

good := {
	"name": "app",
	"image": "registry.example.com/shop/web:1.2.3",
	"securityContext": {"runAsNonRoot": true},
	"resources": {"limits": {"cpu": "1", "memory": "256Mi"}},
	"livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
	"readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
}

test_good_deployment_is_clean if {
	d := pod([good])
	count(deny_run_as_root) + count(deny_latest_tag) + count(deny_resource_limits) == 0 with input as d
	count(warn_probes) + count(warn_image_registry) == 0 with input as d
}

test_latest_tag_is_denied if {
	some v in deny_latest_tag with input as pod([object.union(good, {"image": "nginx:latest"})])
	v.container == "app"
}

test_untagged_image_is_denied if {
	count(deny_latest_tag) == 1 with input as pod([object.union(good, {"image": "registry.example.com/x"})])
}

test_digest_is_pinned if {
	count(deny_latest_tag) == 0 with input as pod([object.union(good, {"image": "registry.example.com/x@sha256:abc"})])
}

test_list_items_are_checked if {
	count(deny_privileged) == 1 with input as {"kind": "List", "items": [pod([object.union(good, {"securityContext": {"privileged": true}})])]}
}

test_single_replica_in_production if {
	d := json.patch(pod([good]), [{"op": "replace", "path": "/spec/replicas", "value": 1}])
	deny_replicas["Deployment shop-prod/web: 1 replica(s) in production, want at least 2"] with input as d
}

test_sidecar_exception if {
	d := json.patch(pod([good]), [{"op": "add", "path": "/metadata/labels/policy.example.com~1sidecars-reviewed", "value": "true"}])
	"image_registry" in {r | some group in exception; some r in group} with input as d
}
