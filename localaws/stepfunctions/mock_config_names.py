"""The settings of MockConfigFile test cases, by name: readable without importing moto's interpreter."""

from __future__ import annotations

ENVIRONMENT_VARIABLE = "SFN_MOCK_CONFIG"
RETRY_INTERVAL_SCALE_VARIABLE = "SFN_MOCK_RETRY_INTERVAL_SCALE"
