package main

import rego.v1
# (no future import here: regorus rejects it next to rego.v1)
import data.lib.helpers
import data.lib.other as o
import input.spec

deny contains msg if {
	helpers.x
	msg := "m"
}

p if {
	some k, v in input.xs
	k == 1
}

q if {
	every v in input.xs { v == 1 }
}

r if {
	[a, b] := input.pair
	a == 1
}

s := 1

t if {
	x := 1
	y := [x | x := 2]
	count(y) > 0
}
