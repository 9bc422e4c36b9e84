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


KUBECONFORM_DEFAULT = ("https://raw.githubusercontent.com/yannh/kubernetes-json-schema/master/"
                       "{{.NormalizedKubernetesVersion}}-standalone{{.StrictSuffix}}/"
                       "{{.ResourceKind}}{{.KindSuffix}}.json")


@pytest.mark.parametrize("text", [
    KUBECONFORM_DEFAULT, KUBECONFORM_DEFAULT.replace("{{.", "{{ .").replace("}}", " }}"),
    "https://raw.githubusercontent.com/yannh/kubernetes-json-schema/master/"])
def test_kubeconform_default_written_out_reads_the_bundled_schemas_offline(
        text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # `-schema-location '<kubeconform's default URL>'`, as its README and many pipelines write
    # it: the same schemas socle bundles, read without the network for a bundled version
    from socle.schema.locations import Fetcher
    from socle.schema.registry import RegistryOptions, SchemaRegistry

    assert parse_location(text).mirrors_default
    assert not parse_location(text.replace("yannh", "someone")).mirrors_default

    def offline(self: Fetcher, url: str) -> bytes | None:
        raise AssertionError(f"downloaded {url}")

    monkeypatch.setattr(Fetcher, "_download", offline)
    registry = SchemaRegistry(RegistryOptions("1.31.2", [text], strict=True))
    validator = registry.validator("apps/v1", "Deployment")
    assert validator is not None and not validator.is_valid({"spec": {"replicas": "2"}})
    assert registry.validator("example.com/v1", "Widget") is None  # (not there either)
    # a version socle does not bundle: downloaded, as kubeconform does
    asked: list[str] = []

    def remote(self: Fetcher, url: str) -> bytes | None:
        asked.append(url)
        return None

    monkeypatch.setattr(Fetcher, "_download", remote)
    old = SchemaRegistry(RegistryOptions("1.20.4", [text], strict=True))
    assert old.validator("apps/v1", "Deployment") is None
    assert asked == ["https://raw.githubusercontent.com/yannh/kubernetes-json-schema/master/"
                     "v1.20.4-standalone-strict/deployment-apps-v1.json"]
