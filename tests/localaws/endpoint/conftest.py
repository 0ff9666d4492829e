"""The endpoint with every patch the local runtime installs, for the fast-path tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localaws.endpoint.server import LocalEndpoint
from localaws.patches import corrections, limits, speedups
from localaws.stepfunctions.mock_config import MOCK_CONFIG
from tests.localaws.support import serving


@pytest.fixture
def fast_endpoint() -> Iterator[LocalEndpoint]:
    for patch_set in (corrections.CORRECTIONS, limits.SIZE_LIMITS, MOCK_CONFIG):
        patch_set.install()
    speedups.install()
    try:
        with serving() as local:
            yield local
    finally:
        speedups.uninstall()
        for patch_set in (MOCK_CONFIG, limits.SIZE_LIMITS, corrections.CORRECTIONS):
            patch_set.uninstall()
