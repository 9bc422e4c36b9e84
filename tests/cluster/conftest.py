"""Cluster fixtures: a real kube-apiserver + etcd on 127.0.0.1 (see tests/cluster/kube.py)."""

from __future__ import annotations

from cluster.kube import kube, kube_client, kube_namespace

__all__ = ["kube", "kube_client", "kube_namespace"]
