package team.labels

deny_owner contains msg if {
	not input.metadata.labels.owner
	msg := sprintf("%s has no owner label", [input.metadata.name])
}

warn contains "team policies are advisory" if true
