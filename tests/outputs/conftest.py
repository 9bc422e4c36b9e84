from __future__ import annotations

import pytest

from outputs.sample_reports import sample_report
from socle.core.finding import Report


@pytest.fixture
def report() -> Report:
    """A fresh copy of the shared awkward report for each test."""
    return sample_report()
