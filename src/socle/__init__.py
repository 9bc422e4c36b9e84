"""socle: an internal developer platform for Kubernetes teams."""

__version__ = "0.1.0"

# Go's strconv.ParseBool words: the values kubeconform's and conftest's users give boolean flags
# (``-strict=true``, ``--tls=false``, ``CONFTEST_FAIL_ON_WARN=1``), and the booleans conftest's
# INI parser reads
GO_BOOL = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
           "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}
