package main

import data.lib.limits

deny contains msg if {
	some i, c in input.spec.containers
	not c.resources.limits
	msg := sprintf("container %d has no limits", [i])
}

warn contains msg if {
	count(input.metadata.name) > limits.name_length
	msg := "name is long"
}

names := [n | some c in input.spec.containers; n := c.name]

f(x) := y if { y := x + 1 }

g(_) := 1
