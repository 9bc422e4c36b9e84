"""Talking to a live Kubernetes API server: kubeconfig loading, discovery, paginated reads.

The public names live in :mod:`socle.cluster.client` and are re-exported here.
"""

from socle.cluster.client import (
    ApiError,
    ClusterError,
    Inventory,
    KubeClient,
    KubeConfig,
    ResourceKind,
    load_kubeconfig,
)

__all__ = [
    "ApiError",
    "ClusterError",
    "Inventory",
    "KubeClient",
    "KubeConfig",
    "ResourceKind",
    "load_kubeconfig",
]
