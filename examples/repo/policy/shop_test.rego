package main

import rego.v1

test_workload_without_part_of_is_denied if {
	count(deny) == 1 with input as {"kind": "Deployment", "metadata": {"name": "x"}, "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "a", "image": "registry.example.com/a:1"}]}}}}
}

test_foreign_image_is_denied if {
	some msg in deny with input as {"kind": "Deployment", "metadata": {"name": "x", "labels": {"app.kubernetes.io/part-of": "shop"}}, "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "a", "image": "nginx:1.27"}]}}}}
	contains(msg, "registry.example.com")
}

test_single_replica_warns if {
	count(warn) == 1 with input as {"kind": "Deployment", "metadata": {"name": "x"}, "spec": {"replicas": 1}}
}
