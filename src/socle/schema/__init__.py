"""Schema registry (bundled Kubernetes versions, CRDs in the input, CRD catalogs,
kubeconform-style locations), the validator, and checks JSON schema cannot express."""
