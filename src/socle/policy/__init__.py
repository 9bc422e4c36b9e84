"""Rego policies: engine adapters, the conftest-compatible runner, verify, bundles, Gatekeeper."""
