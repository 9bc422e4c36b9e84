package socle.controls.nginx_ingress_snippet_annotation

import data.socle.lib.k8s
import rego.v1

deny contains {
	"msg": sprintf("Ingress %q uses the ingress-nginx annotation %q, which injects raw nginx configuration", [data.socle.lib.k8s.name, key]),
	"path": path,
	"evidence": key,
	"fix": [{"op": "remove", "path": path}],
} if {
	input.kind == "Ingress"
	some key, _ in input.metadata.annotations
	startswith(key, "nginx.ingress.kubernetes.io/")
	endswith(key, "-snippet")
	path := ["metadata", "annotations", key]
}
