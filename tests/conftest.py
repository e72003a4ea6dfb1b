"""Fixtures every test runs under."""

from __future__ import annotations

import pytest

from tests.children import children_killed


@pytest.fixture(autouse=True)
def _no_child_outlives_its_test():
    """Kill what a test started and left running (see :mod:`tests.children`)."""
    with children_killed():
        yield
