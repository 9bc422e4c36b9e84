package main

deployment := {
	"kind": "Deployment",
	"metadata": {"name": "sample"},
	"spec": {
		"replicas": 3,
		"selector": {"matchLabels": {"app": "sample"}},
		"template": {"spec": {"securityContext": {"runAsNonRoot": true}, "containers": [{"name": "app", "image": "nginx:1.27"}]}},
	},
}

test_good_deployment_passes if {
	count(deny) == 0 with input as deployment
}

test_root_is_denied if {
	deny["Containers must not run as root in Deployment sample"] with input as json.remove(deployment, ["spec/template/spec/securityContext"])
}

test_latest_tag_is_a_violation if {
	some v in violation_latest_tag with input as json.patch(deployment, [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:latest"}])
	v.details.container == "app"
}

test_single_replica_warns if {
	count(warn_replicas) == 1 with input as object.union(deployment, {"spec": {"replicas": 1}})
}
