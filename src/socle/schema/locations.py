"""kubeconform-style schema locations: folders, files and http(s) URLs with template variables.

Variables (Go template syntax, with or without spaces): ``NormalizedKubernetesVersion``
(``v1.33.0`` or ``master``), ``StrictSuffix`` (``-strict`` or empty), ``ResourceKind``
(lower case), ``ResourceAPIVersion`` (the version part), ``Group`` and ``KindSuffix``
(``-apps-v1``). A location not ending in ``json`` gets kubeconform's standard suffix appended;
a local folder laid out as the public CRDs catalog (``{group}/{kind}_{version}.json``) is
recognised as such. ``default`` is the bundled schemas (kubeconform fetches the same from the
network); kubeconform's default location written out in full (its README's and many
pipelines' ``-schema-location``) is read from them too, for the versions bundled.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from socle.core.errors import UsageError
from socle.schema.kubernetes import kind_suffix

STANDARD_SUFFIX = (
    "/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/"
    "{{ .ResourceKind }}{{ .KindSuffix }}.json"
)
CATALOG_SUFFIX = "/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
# kubeconform's default location: where it downloads what socle bundles
KUBECONFORM_DEFAULT = ("https://raw.githubusercontent.com/yannh/kubernetes-json-schema/master"
                       + STANDARD_SUFFIX)
_VAR = re.compile(r"\{\{\s*\.(\w+)\s*\}\}")
KNOWN_VARS = frozenset(["NormalizedKubernetesVersion", "StrictSuffix", "ResourceKind",
                        "ResourceAPIVersion", "Group", "KindSuffix"])


@dataclass(frozen=True)
class Location:
    template: str  # "default" for the bundled schemas

    @property
    def is_default(self) -> bool:
        return self.template == "default"

    @property
    def mirrors_default(self) -> bool:
        """kubeconform's default location written out: the bundled schemas where socle has
        the version (generated from the same Kubernetes API definitions), else the network."""
        return _VAR.sub(lambda m: "{{ ." + m.group(1) + " }}",
                        self.template) == KUBECONFORM_DEFAULT

    @property
    def is_remote(self) -> bool:
        return self.template.startswith(("http://", "https://"))


def _looks_like_catalog(folder: str) -> bool:
    try:
        entries = os.listdir(folder)
    except OSError:
        return False
    if any("-standalone" in e for e in entries):
        return False
    return any("." in e and os.path.isdir(os.path.join(folder, e)) for e in entries)


def parse_location(text: str) -> Location:
    text = text.strip()
    if not text:
        raise UsageError("empty schema location")
    if text == "default":
        return Location("default")
    for name in _VAR.findall(text):
        if name not in KNOWN_VARS:
            raise UsageError(f"unknown variable {name!r} in schema location {text!r}")
    if not text.endswith("json"):
        base = text.rstrip("/")
        if not text.startswith(("http://", "https://")) and _looks_like_catalog(base):
            return Location(base + CATALOG_SUFFIX)
        return Location(base + STANDARD_SUFFIX)
    return Location(text)


def render(template: str, kind: str, api_version: str, k8s_version: str, strict: bool) -> str:
    group, _, version = api_version.rpartition("/")
    values = {
        "NormalizedKubernetesVersion": k8s_version if k8s_version == "master"
        else "v" + k8s_version.lstrip("v"),
        "StrictSuffix": "-strict" if strict else "",
        "ResourceKind": kind.lower(),
        "ResourceAPIVersion": version,
        "Group": group,
        "KindSuffix": kind_suffix(api_version).lower(),
    }
    return _VAR.sub(lambda m: values[m.group(1)], template)


MAX_SCHEMA_BYTES = 64 << 20


class Fetcher:
    """Reads local schema files and http(s) schemas through an on-disk cache."""

    def __init__(self, cache_dir: str | None, insecure: bool = False, timeout: float = 30.0):
        self.cache_dir = cache_dir
        self.insecure = insecure
        self.timeout = timeout

    def get(self, where: str) -> bytes | None:
        """The schema's bytes, or None when it does not exist there (404 / no such file)."""
        if not where.startswith(("http://", "https://")):
            path = where[len("file://"):] if where.startswith("file://") else where
            try:
                with open(path, "rb") as fh:
                    return fh.read()
            except FileNotFoundError:
                return None
            except OSError as err:
                raise UsageError(f"cannot read schema {path}: {err.strerror}") from None
        cached = self._cache_path(where)
        if cached and os.path.exists(cached):
            with open(cached, "rb") as fh:
                return fh.read()
        data = self._download(where)
        if data is not None and cached:
            import tempfile

            os.makedirs(os.path.dirname(cached), exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(cached))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, cached)
        return data

    def _cache_path(self, url: str) -> str | None:
        if not self.cache_dir:
            return None
        import hashlib

        return os.path.join(self.cache_dir, hashlib.sha256(url.encode()).hexdigest() + ".json")

    def _download(self, url: str) -> bytes | None:
        # (imported here: the network stack costs ~40 ms to import and most runs never fetch)
        import ssl
        import urllib.error
        import urllib.request

        context = None
        if url.startswith("https://") and self.insecure:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        req = urllib.request.Request(url, headers={"User-Agent": "socle"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=context) as resp:
                # (a schema is a few MiB at most: a server sending more is not read to the end)
                data: bytes = resp.read(MAX_SCHEMA_BYTES + 1)
                if len(data) > MAX_SCHEMA_BYTES:
                    raise UsageError(f"cannot fetch schema {url}: larger than "
                                     f"{MAX_SCHEMA_BYTES >> 20} MiB")
                return data
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return None
            raise UsageError(f"cannot fetch schema {url}: HTTP {err.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise UsageError(f"cannot fetch schema {url}: {reason}") from None
