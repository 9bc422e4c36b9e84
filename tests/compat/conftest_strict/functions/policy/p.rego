package main

g(x) := 1

h(x) := y if { y := 2 }

u(x) := 1 if { x > 0 } else := 2 if { z := 1 }

k([a, b]) := a

deny contains msg if {
	re_match("a", "b")
	net.cidr_overlap("1.0.0.0/8", "1.0.0.1")
	cast_array([1])
	set_diff({1}, {2})
	all([true])
	msg := "x"
}

m[x] := y if {
	x := "a"
	y := 1
	w := [q | some q in input.l]
	t := {"a": v | v := 1}
	t.a == 1
}
