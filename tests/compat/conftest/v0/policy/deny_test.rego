package main

test_root_denied {
	deny["Containers must not run as root in Deployment x"] with input as {"kind": "Deployment", "metadata": {"name": "x"}}
}

test_kind_label {
	kind_label == "service" with input as {"kind": "Service"}
}

test_low_port {
	count(violation_ports) == 1 with input as {"kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}, {"port": 8080}]}}
}
