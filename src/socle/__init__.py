"""socle: an internal developer platform for Kubernetes teams."""

__version__ = "0.1.0"
