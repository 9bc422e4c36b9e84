package socle.controls.ingress_without_tls

import data.socle.lib.k8s
import rego.v1

tls_entries := [t | some t in input.spec.tls; is_object(t)]

# A tls entry without hosts applies to every host of the Ingress.
covers_all if {
	some t in tls_entries
	count(object.get(t, "hosts", [])) == 0
}

tls_hosts := {lower(h) | some t in tls_entries; some h in t.hosts; is_string(h)}

covered(host) if lower(host) in tls_hosts

covered(host) if {
	some pattern in tls_hosts
	startswith(pattern, "*.")
	endswith(lower(host), substring(pattern, 1, -1))
	count(split(host, ".")) == count(split(pattern, "."))
}

deny contains {
	"msg": sprintf("Ingress %q has no tls section: every host is served over plain HTTP", [data.socle.lib.k8s.name]),
	"path": ["spec", "tls"],
	"evidence": [h | some r in input.spec.rules; h := object.get(r, "host", "*")],
} if {
	input.kind == "Ingress"
	count(tls_entries) == 0
}

deny contains {
	"msg": sprintf("Ingress %q serves host %q without TLS: no tls entry lists it", [data.socle.lib.k8s.name, host]),
	"path": ["spec", "rules", i, "host"],
	"evidence": host,
} if {
	input.kind == "Ingress"
	count(tls_entries) > 0
	not covers_all
	some i, rule in input.spec.rules
	host := rule.host
	is_string(host)
	not covered(host)
}
