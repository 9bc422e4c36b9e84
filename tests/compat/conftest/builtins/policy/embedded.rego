package main

# a ConfigMap that embeds a JSON document: parse it with conftest's builtin
deny contains msg if {
	input.kind == "ConfigMap"
	some key, text in input.data
	endswith(key, ".json")
	cfg := parse_config("json", text)
	cfg.debug == true
	msg := sprintf("%s enables debug in %s", [input.metadata.name, key])
}

deny contains msg if {
	input.kind == "ConfigMap"
	some key, text in input.data
	endswith(key, ".yaml")
	cfg := parse_config("yaml", text)
	cfg.level == "trace"
	msg := sprintf("%s sets level trace in %s", [input.metadata.name, key])
}
