package main

# The platform team's sidecars are built upstream: they may come from other registries and
# run without a CPU limit. conftest reports such results as exceptions.
exception contains rules if {
	input.metadata.labels["policy.example.com/sidecars-reviewed"] == "true"
	rules := ["image_registry", "resource_limits"]
}

# Teams opt in to root for a release while they migrate; the exception names the rule.
exception contains rules if {
	input.metadata.annotations["policy.example.com/allow-root"] == "true"
	rules := ["run_as_root"]
}
