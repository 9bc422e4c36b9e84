package socle.controls.cronjob_missing_guards

import data.socle.lib.k8s
import rego.v1

deny contains {
	"msg": sprintf("CronJob %q allows concurrent runs: a slow run overlaps the next ones (concurrencyPolicy %s)", [data.socle.lib.k8s.name, policy]),
	"path": ["spec", "concurrencyPolicy"],
	"evidence": policy,
} if {
	input.kind == "CronJob"
	policy := object.get(input.spec, "concurrencyPolicy", "Allow (default)")
	policy in {"Allow", "Allow (default)"}
}

deny contains {
	"msg": sprintf("CronJob %q has no startingDeadlineSeconds: after 100 missed schedules it is no longer started", [data.socle.lib.k8s.name]),
	"path": ["spec", "startingDeadlineSeconds"],
	"evidence": "unset",
} if {
	input.kind == "CronJob"
	# (object.get: under `not`, OPA fails the query when a value given to a call is missing)
	not is_number(object.get(input, ["spec", "startingDeadlineSeconds"], null))
}
