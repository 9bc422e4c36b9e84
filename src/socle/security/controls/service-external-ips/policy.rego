package socle.controls.service_external_ips

import data.socle.lib.k8s
import rego.v1

deny contains {
	"msg": sprintf("Service %q claims external IPs %v: nodes will intercept traffic for them (CVE-2020-8554)", [data.socle.lib.k8s.name, input.spec.externalIPs]),
	"path": ["spec", "externalIPs"],
	"evidence": input.spec.externalIPs,
} if {
	input.kind == "Service"
	count(input.spec.externalIPs) > 0
}
