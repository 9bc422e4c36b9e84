"""Errors that end a run with exit code 2 and a one-line message."""

from __future__ import annotations


class SocleError(Exception):
    """A usage or input error: printed as one line, exit code 2."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None,
                 column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line:
                where += f":{self.line}"
                if self.column:
                    where += f":{self.column}"
            where += ": "
        return f"{where}{self.message}"


class UsageError(SocleError):
    """Bad flags or configuration."""


class InputError(SocleError):
    """An input file that cannot be read or parsed."""
