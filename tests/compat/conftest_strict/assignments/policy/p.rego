package main

deny contains msg if {
	x := input.a
	msg := sprintf("%v", [x])
	unused := 3
}

warn contains msg if {
	some i
	input.a[i]
	msg := "w"
}

v contains y if {
	y := 1
	z = 2
}

w := [1 | _ := 2]

obj := {a: b | a := 1; b := 2; c := 3}
