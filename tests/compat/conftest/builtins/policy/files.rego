package main

# conftest resolves these paths against this policy file's folder, not the current one
limits := parse_config_file("../settings/limits.yaml")

warn contains msg if {
	input.kind == "ConfigMap"
	count(input.data) > limits.maxKeys
	msg := sprintf("%s has %d keys (limit %d)", [input.metadata.name, count(input.data), limits.maxKeys])
}

warn contains msg if {
	input.kind == "ConfigMap"
	files := parse_combined_config_files(["../settings/limits.yaml", "../settings/extra.yaml"])
	paths := [f.path | some f in files]
	msg := sprintf("settings files: %v", [paths])
}
