# Helpers every socle control uses: where pod specs and containers live in each workload kind,
# with the JSON path to each, so findings point at the offending key.
package socle.lib.k8s

import rego.v1

workload_kinds := {
	"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController",
}

pod_kinds := workload_kinds | {"Pod", "CronJob"}

is_pod_owner if pod_kinds[input.kind]

# [path, pod spec] for the pod spec of this resource, wherever the kind keeps it.
pod_specs contains [["spec"], input.spec] if {
	input.kind == "Pod"
	is_object(input.spec)
}

pod_specs contains [["spec", "template", "spec"], input.spec.template.spec] if {
	workload_kinds[input.kind]
	is_object(input.spec.template.spec)
}

pod_specs contains [p, input.spec.jobTemplate.spec.template.spec] if {
	input.kind == "CronJob"
	is_object(input.spec.jobTemplate.spec.template.spec)
	p := ["spec", "jobTemplate", "spec", "template", "spec"]
}

# The pod template's metadata path and object (the Pod's own metadata for a Pod).
pod_metadata contains [["metadata"], object.get(input, "metadata", {})] if input.kind == "Pod"

pod_metadata contains [["spec", "template", "metadata"], m] if {
	workload_kinds[input.kind]
	m := object.get(input.spec.template, "metadata", {})
}

pod_metadata contains [p, m] if {
	input.kind == "CronJob"
	p := ["spec", "jobTemplate", "spec", "template", "metadata"]
	m := object.get(input.spec.jobTemplate.spec.template, "metadata", {})
}

container_fields := ["initContainers", "containers", "ephemeralContainers"]

# Every container (init, regular, ephemeral) with its path, its pod spec and the pod spec path.
containers contains {
	"path": array.concat(pod_path, [field, i]),
	"container": c,
	"field": field,
	"pod_path": pod_path,
	"pod": spec,
} if {
	some ps in pod_specs
	pod_path := ps[0]
	spec := ps[1]
	some field in container_fields
	some i, c in spec[field]
	is_object(c)
}

# Replicas the resource asks for (1 when unset), for risk weights.
replicas := n if {
	n := input.spec.replicas
	is_number(n)
} else := 1

name := object.get(object.get(input, "metadata", {}), "name", "")

namespace := object.get(object.get(input, "metadata", {}), "namespace", "default")

# ---------------------------------------------------------------------------------------------
# Pod and container hardening helpers (controls SCL-002 .. SCL-029). Appended; the helpers
# above keep their meaning.
# ---------------------------------------------------------------------------------------------

# The pod-level securityContext of a pod spec: an empty object when unset or null.
pod_security_context(spec) := sc if {
	sc := spec.securityContext
	is_object(sc)
} else := {}

# A container's own securityContext: an empty object when unset or null.
container_security_context(container) := sc if {
	sc := container.securityContext
	is_object(sc)
} else := {}

# For a field both levels can set (runAsUser, runAsGroup, runAsNonRoot, seccompProfile,
# seLinuxOptions, windowsOptions, appArmorProfile): [path, value] of the setting the container
# runs with: its own when set (not null), else the pod's. Undefined when neither sets it.
# (Returns an array so that `not effective_setting(...)` is safe for boolean values.)
effective_setting(c, key) := [array.concat(c.path, ["securityContext", key]), v] if {
	v := c.container.securityContext[key]
	v != null
} else := [array.concat(c.pod_path, ["securityContext", key]), v] if {
	v := c.pod.securityContext[key]
	v != null
}

# Pods whose spec.os.name is windows: the Restricted profile exempts them from the Linux-only
# controls (privilege escalation, seccomp, capabilities).
is_windows_pod(spec) if spec.os.name == "windows"

# Containers that run the workload's processes: init and regular ones (ephemeral debug
# containers cannot declare resources, ports or probes).
workload_containers contains c if {
	some c in containers
	c.field != "ephemeralContainers"
}

# Init containers with restartPolicy Always (native sidecars) keep running next to the app.
is_sidecar(c) if {
	c.field == "initContainers"
	c.container.restartPolicy == "Always"
}

# A capability name as runtimes compare it: upper case, without the CAP_ prefix.
capability_name(s) := trim_prefix(upper(s), "CAP_") if is_string(s)

# The capabilities a container lists under securityContext.capabilities.<which> ("add" or
# "drop"), as [index, name] pairs over string entries.
capability_entries(container, which) := {[i, s] |
	some i, s in container.securityContext.capabilities[which]
	is_string(s)
}

# A host path in a canonical form for comparisons: no repeated or trailing slashes.
clean_host_path(p) := "/" if {
	trim_right(p, "/") == ""
	startswith(p, "/")
} else := concat("/", [part | some i, part in split(p, "/"); keep_path_part(i, part)])

keep_path_part(i, _) if i == 0

keep_path_part(i, part) if {
	i > 0
	part != ""
}

# True when host path `p` is `dir` or lies under it (both cleaned; "/" contains everything).
host_path_within(p, dir) if p == dir

host_path_within(p, dir) if {
	dir != "/"
	startswith(p, concat("", [dir, "/"]))
}

host_path_within(p, dir) if {
	dir == "/"
	startswith(p, "/")
}

# The hostPath volumes of a pod spec: [volume index, volume name, cleaned host path].
host_path_volumes(spec) := {[i, v.name, clean_host_path(v.hostPath.path)] |
	some i, v in spec.volumes
	is_object(v.hostPath)
	is_string(v.hostPath.path)
}

container_kind_labels := {
	"initContainers": "init container",
	"containers": "container",
	"ephemeralContainers": "ephemeral container",
}

# "container \"web\"", "init container \"setup\"", ... for messages.
container_label(c) := sprintf("%s %q", [container_kind_labels[c.field], object.get(c.container, "name", "")])

# A resource quantity the container declares (resources.<which>.<res>, not null).
declares_resource(container, which, res) if object.get(container, ["resources", which, res], null) != null

# A finding object; the fix is left out when there is none (an empty list of operations).
finding(msg, path, evidence, fix) := {"msg": msg, "path": path, "evidence": evidence} if {
	count(fix) == 0
} else := {"msg": msg, "path": path, "evidence": evidence, "fix": fix}

# ---------------------------------------------------------------------------------------------
# Image, RBAC, selector and inventory helpers (controls SCL-030 .. SCL-079). Appended; the
# helpers above keep their meaning. Functions taking `obj` work on any resource (for
# cross-resource controls reading data.socle.inventory), not only on `input`.
# ---------------------------------------------------------------------------------------------

# An image reference split into its parts: "registry.example.com:5000/team/app:1.2@sha256:..".
# registry is "docker.io" when the first segment is not a host (no ".", no ":", not localhost).
image_digest(image) := d if {
	parts := split(image, "@")
	count(parts) > 1
	d := parts[1]
} else := ""

image_tag(image) := t if {
	segs := split(split(image, "@")[0], "/")
	last := segs[count(segs) - 1]
	contains(last, ":")
	t := substring(last, indexof(last, ":") + 1, -1)
} else := ""

image_registry(image) := lower(segs[0]) if {
	segs := split(split(image, "@")[0], "/")
	count(segs) > 1
	image_host_like(segs[0])
} else := "docker.io"

image_host_like(s) if {
	contains(s, ".")
}

image_host_like(s) if {
	contains(s, ":")
}

image_host_like(s) if s == "localhost"

# The image name without tag or digest, with its registry: "docker.io/library/nginx" style is
# not forced; "nginx:1.25" gives "nginx".
image_name(image) := n if {
	base := split(image, "@")[0]
	segs := split(base, "/")
	last := segs[count(segs) - 1]
	contains(last, ":")
	n := substring(base, 0, (count(base) - count(last)) + indexof(last, ":"))
} else := split(image, "@")[0]

# Containers with a string image, as [container entry, image].
container_images contains [c, c.container.image] if {
	some c in containers
	is_string(c.container.image)
}

# Resource metadata of any object.
obj_name(obj) := object.get(object.get(obj, "metadata", {}), "name", "")

obj_namespace(obj) := object.get(object.get(obj, "metadata", {}), "namespace", "default")

obj_labels(obj) := l if {
	l := obj.metadata.labels
	is_object(l)
} else := {}

# The pod template ({metadata, spec}) of any pod-owning object; undefined for other kinds.
pod_template_of(obj) := {"metadata": object.get(obj, "metadata", {}), "spec": obj.spec} if {
	obj.kind == "Pod"
	is_object(obj.spec)
} else := obj.spec.template if {
	workload_kinds[obj.kind]
	is_object(obj.spec.template)
} else := obj.spec.jobTemplate.spec.template if {
	obj.kind == "CronJob"
	is_object(obj.spec.jobTemplate.spec.template)
}

# The labels pods of this object carry.
pod_labels_of(obj) := l if {
	l := pod_template_of(obj).metadata.labels
	is_object(l)
} else := {}

# The service account a pod spec runs as (serviceAccountName, then the deprecated
# serviceAccount field, then "default").
service_account_of(spec) := sa if {
	sa := spec.serviceAccountName
	is_string(sa)
	sa != ""
} else := sa if {
	sa := spec.serviceAccount
	is_string(sa)
	sa != ""
} else := "default"

# Every resource of the scanned input of one of `kinds` (cross-resource controls only).
inventory_of(kinds) := [o | some k in kinds; some o in data.socle.inventory_by_kind[k]] if {
	is_object(data.socle.inventory_by_kind)
} else := [o |
	some o in data.socle.inventory
	is_object(o)
	kinds[o.kind]
]

# A metav1.LabelSelector (matchLabels + matchExpressions) against a label map. An empty
# selector selects everything.
label_selector_matches(selector, labels) if {
	is_object(selector)
	every k, v in object.get(selector, "matchLabels", {}) {
		labels[k] == v
	}
	every e in object.get(selector, "matchExpressions", []) {
		selector_expression_matches(e, labels)
	}
}

selector_expression_matches(e, labels) if {
	e.operator == "In"
	labels[e.key] in e.values
}

selector_expression_matches(e, labels) if {
	e.operator == "NotIn"
	not labels[e.key] in object.get(e, "values", [])
}

selector_expression_matches(e, labels) if {
	e.operator == "Exists"
	_ = labels[e.key]
}

selector_expression_matches(e, labels) if {
	e.operator == "DoesNotExist"
	not _obj_has_key(labels, e.key)
}

_obj_has_key(obj, key) if {
	_ = obj[key]
}

# A Service-style selector (a plain map): it must be non-empty and every pair must match.
map_selector_matches(selector, labels) if {
	is_object(selector)
	count(selector) > 0
	every k, v in selector {
		labels[k] == v
	}
}

# RBAC: [index, rule] of each rule of a Role or ClusterRole (the input or any object).
rbac_rules_of(obj) := {[i, r] |
	obj.kind in {"Role", "ClusterRole"}
	some i, r in obj.rules
	is_object(r)
}

rbac_rules := rbac_rules_of(input)

# True when `rule` grants one of `verbs` on one of `resources` (each "group/resource" is given
# as [group, resource], the resource may name a subresource "pods/exec"), wildcards included.
rule_grants(rule, resources, verbs) if {
	some want in resources
	_rule_group(rule, want[0])
	_rule_resource(rule, want[1])
	_rule_verb(rule, verbs)
}

_rule_group(rule, group) if {
	some g in object.get(rule, "apiGroups", [])
	g in {group, "*"}
}

_rule_resource(rule, resource) if {
	some r in object.get(rule, "resources", [])
	r in {resource, "*"}
}

_rule_resource(rule, resource) if {
	contains(resource, "/")
	some r in object.get(rule, "resources", [])
	r in {concat("", [split(resource, "/")[0], "/*"]), concat("", ["*/", split(resource, "/")[1]])}
}

_rule_verb(rule, verbs) if {
	some v in object.get(rule, "verbs", [])
	v in (verbs | {"*"})
}

# Rules limited to named objects (resourceNames) grant far less than the resource type.
rule_names_limited(rule) if {
	count(object.get(rule, "resourceNames", [])) > 0
}

# The subjects of a RoleBinding or ClusterRoleBinding, as [index, subject].
binding_subjects(obj) := {[i, s] |
	obj.kind in {"RoleBinding", "ClusterRoleBinding"}
	some i, s in obj.subjects
	is_object(s)
}

# True when a subject of a binding in namespace `ns` is service account `name` of `sa_ns`.
subject_is_service_account(s, binding_ns, sa_ns, sa_name) if {
	s.kind == "ServiceAccount"
	s.name == sa_name
	object.get(s, "namespace", binding_ns) == sa_ns
}

# May the container run as uid 0? (Neither runAsNonRoot: true nor a non-zero runAsUser, the
# container's own setting first, else the pod's; the image's USER is unknown here.)
may_run_as_root(spec, container) if {
	not _runs_non_root(spec, container)
}

_runs_non_root(spec, container) if {
	_effective_sc(spec, container, "runAsNonRoot") == true
}

_runs_non_root(spec, container) if {
	uid := _effective_sc(spec, container, "runAsUser")
	is_number(uid)
	uid > 0
}

_effective_sc(spec, container, key) := v if {
	v := container.securityContext[key]
	v != null
} else := v if {
	v := spec.securityContext[key]
	v != null
}

# Resources of one kind in one namespace (cluster-scoped ones count as "default", as
# obj_namespace reports them). Reads data.socle.inventory_by_kind (kind -> [objects], built once
# per run by the runner) when present, so a document costs a lookup rather than a scan of the
# whole inventory; scans data.socle.inventory otherwise.
inventory_in(kind, ns) := object.get(object.get(data.socle.inventory_index, kind, {}), ns, []) if {
	# kind -> namespace -> resources, built once per run by the runner (a lookup, not a filter)
	is_string(ns)
	is_object(data.socle.inventory_index)
} else := [o | some o in data.socle.inventory_by_kind[kind]; object.get(object.get(o, "metadata", {}), "namespace", "default") == ns] if {
	is_object(data.socle.inventory_by_kind)
} else := [o |
	some o in data.socle.inventory
	is_object(o)
	o.kind == kind
	object.get(object.get(o, "metadata", {}), "namespace", "default") == ns
]

# Resources of one kind in every namespace.
inventory_kind(kind) := object.get(data.socle.inventory_by_kind, kind, []) if {
	is_object(data.socle.inventory_by_kind)
} else := [o |
	some o in data.socle.inventory
	is_object(o)
	o.kind == kind
]

# Resources of any of `kinds` (a set) in one namespace.
inventory_in_kinds(kinds, ns) := [o |
	some k in kinds
	some o in object.get(object.get(data.socle.inventory_index, k, {}), ns, [])
] if {
	is_string(ns)
	is_object(data.socle.inventory_index)
} else := [o |
	some k in kinds
	some o in data.socle.inventory_by_kind[k]
	object.get(object.get(o, "metadata", {}), "namespace", "default") == ns
] if {
	is_object(data.socle.inventory_by_kind)
} else := [o |
	some o in data.socle.inventory
	is_object(o)
	kinds[o.kind]
	object.get(object.get(o, "metadata", {}), "namespace", "default") == ns
]

# Resources of `kind` in namespace `ns` whose spec.podSelector may select pods labelled
# `labels`: a superset of those it selects (callers still test the selector), from
# data.socle.pod_selector_index (built once per run by the runner) when present, else every
# resource of the kind in the namespace.
pod_selector_candidates(kind, ns, labels) := array.concat(idx.any, [o |
	some k, v in labels
	is_string(v)
	some o in object.get(object.get(idx.by, k, {}), v, [])
]) if {
	is_string(ns)
	is_object(labels)
	idx := data.socle.pod_selector_index[kind][ns]
} else := inventory_in(kind, ns)

# The resources of `kind` named `name` in namespace `ns`: a lookup in data.socle.name_index
# (kind -> namespace -> name -> resources, built once per run by the runner) when present, else
# a scan of the kind's resources in the namespace.
named(kind, ns, name) := object.get(object.get(object.get(data.socle.name_index, kind, {}), ns, {}), name, []) if {
	is_string(ns)
	is_string(name)
	is_object(data.socle.name_index)
} else := [o |
	some o in inventory_in(kind, ns)
	obj_name(o) == name
]

# Resources of `kind` (bindings) with a subject named one of `names`: a superset of those
# whose subjects match (callers still test them), from data.socle.subject_index (kind ->
# subject name -> resources, built once per run by the runner) when present, else every
# resource of the kind.
subject_candidates(kind, names) := [b |
	some n in names
	some b in object.get(object.get(data.socle.subject_index, kind, {}), n, [])
] if {
	is_object(data.socle.subject_index)
} else := inventory_kind(kind)
