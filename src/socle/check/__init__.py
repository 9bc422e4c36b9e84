"""``socle check``: validate, test and scan in one pass over documents parsed once."""

from socle.check.runner import (
    Checkers,
    CheckOptions,
    FileOutcome,
    Gate,
    check_paths,
    check_source,
    compliance_problem,
    exit_code,
)

__all__ = ["CheckOptions", "Checkers", "FileOutcome", "Gate", "check_paths", "check_source",
           "compliance_problem", "exit_code"]
