"""Logger, Tracer and Metrics shared by every service, so each handler decorates with the same instances."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

METRICS_NAMESPACE = "orderflow"

# Service name and log level come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_LOG_LEVEL, set per function.
logger = Logger()
tracer = Tracer()
# The namespace is fixed by the contract; the environment may only repeat it.
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", METRICS_NAMESPACE))
