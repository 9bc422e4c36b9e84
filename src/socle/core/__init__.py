"""Documents, sources, findings, reports, configuration and errors shared by every command."""

from socle.core.document import Document, PathKey, PositionMap
from socle.core.errors import InputError, SocleError, UsageError
from socle.core.finding import (
    DocumentResult,
    Finding,
    Report,
    Resource,
    Rule,
    Severity,
    Status,
)

__all__ = [
    "Document",
    "DocumentResult",
    "Finding",
    "InputError",
    "PathKey",
    "PositionMap",
    "Report",
    "Resource",
    "Rule",
    "Severity",
    "SocleError",
    "Status",
    "UsageError",
]
