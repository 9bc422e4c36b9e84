package socle.controls.service_account_token_automount

import data.socle.lib.k8s
import rego.v1

# The pod asks for the token explicitly.
deny contains {
	"msg": sprintf("pods of %s %q mount the token of service account %q (automountServiceAccountToken: true)", [input.kind, data.socle.lib.k8s.name, k8s.service_account_of(spec)]),
	"path": path,
	"evidence": true,
	"fix": [{"op": "replace", "path": path, "value": false}],
} if {
	some ps in data.socle.lib.k8s.pod_specs
	spec := ps[1]
	spec.automountServiceAccountToken == true
	path := array.concat(ps[0], ["automountServiceAccountToken"])
}

# The pod does not say, and its ServiceAccount (when it is in the input) does not opt out.
deny contains {
	"msg": sprintf("pods of %s %q mount the token of service account %q: automountServiceAccountToken is not false on the pod or the account", [input.kind, data.socle.lib.k8s.name, sa]),
	"path": path,
	"evidence": "unset",
	"fix": [{"op": "add", "path": path, "value": false}],
} if {
	some ps in data.socle.lib.k8s.pod_specs
	spec := ps[1]
	not is_boolean(object.get(spec, "automountServiceAccountToken", null)) # (as OPA reads `not`)
	sa := k8s.service_account_of(spec)
	not account_opts_out(sa)
	path := array.concat(ps[0], ["automountServiceAccountToken"])
}

account_opts_out(sa) if {
	some o in k8s.named("ServiceAccount", data.socle.lib.k8s.namespace, sa)
	o.automountServiceAccountToken == false
}
