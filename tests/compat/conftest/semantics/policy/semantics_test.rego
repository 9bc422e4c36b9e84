package main

test_a_string_that_is_no_number_is_skipped if {
	results := deny with input as {"metadata": {"annotations": {"a": "11", "b": "many"}}}
	results["annotation a is 11, over 10"]
	count([m | some m in results; contains(m, "annotation b")]) == 0
}

test_division_by_zero_is_undefined if {
	results := deny with input as {"spec": {"replicas": 0}}
	results["half of the replicas: 0"]
	count([m | some m in results; startswith(m, "each replica")]) == 0
}

test_not_with_a_missing_value_is_undefined if {
	not deny["no owner label, or not a team"] with input as {"metadata": {"name": "a-b"}}
}

test_not_equality_with_a_missing_value_is_true if {
	deny["owner is not exactly team-a"] with input as {"metadata": {"name": "a-b"}}
}

test_upper_of_a_number if {
	count(warn) == 0 with input as {"metadata": {"labels": {"tier": 3}}}
}

test_to_number_fails if {
	to_number("many") > 1
}
