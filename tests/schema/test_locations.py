"""kubeconform-style schema location templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from socle.core.errors import UsageError
from socle.schema.locations import parse_location, render


def test_template_variables_as_kubeconform_defines_them() -> None:
    t = ("{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/"
         "{{ .ResourceKind }}{{ .KindSuffix }}.json|{{.Group}}|{{.ResourceAPIVersion}}")
    assert render(t, "Deployment", "apps/v1", "1.30.0", True) == \
        "v1.30.0-standalone-strict/deployment-apps-v1.json|apps|v1"
    assert render(t, "Ingress", "networking.k8s.io/v1", "master", False) == \
        "master-standalone/ingress-networking-v1.json|networking.k8s.io|v1"
    assert render(t, "ConfigMap", "v1", "1.30.0", False) == \
        "v1.30.0-standalone/configmap-v1.json||v1"


def test_locations_not_ending_in_json_get_the_standard_suffix(tmp_path: Path) -> None:
    loc = parse_location("https://example.test/schemas")
    assert loc.template.endswith(
        "/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/"
        "{{ .ResourceKind }}{{ .KindSuffix }}.json")
    (tmp_path / "cert-manager.io").mkdir()
    assert parse_location(str(tmp_path)).template.endswith(
        "/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json")
    (tmp_path / "v1.30.0-standalone").mkdir()
    assert "-standalone" in parse_location(str(tmp_path)).template
    assert parse_location("default").is_default


def test_unknown_variables_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="Kind"):
        parse_location("x/{{ .Kind }}.json")
