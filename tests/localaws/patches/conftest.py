"""Fixtures of the moto patch tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localaws.patches import speedups


@pytest.fixture
def stock_moto() -> Iterator[None]:
    """moto without our speed-ups before and after the test: a test installs the ones it compares."""
    speedups.uninstall()
    yield
    speedups.uninstall()
