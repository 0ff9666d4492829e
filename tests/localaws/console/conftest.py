"""Fixtures: the console LocalAws serves beside the AWS APIs, for the real orderflow stack."""

from __future__ import annotations

import pytest

from localaws.console.app import ConsoleApp
from localaws.local_aws import LocalAws
from tests.localaws.orderflow_stack import orderflow_assembly, orderflow_local, orderflow_names

__all__ = ["orderflow_assembly", "orderflow_local", "orderflow_names"]


@pytest.fixture(scope="package")
def console_app(orderflow_local: LocalAws) -> ConsoleApp:
    """The console LocalAws mounts at /_console, as `orderflow local up` serves it."""
    app = orderflow_local.console
    assert isinstance(app, ConsoleApp)
    return app


@pytest.fixture(scope="package")
def console_url(orderflow_local: LocalAws, console_app: ConsoleApp) -> str:
    """Base URL of the endpoint; the console's pages are under /_console/ beside the AWS APIs."""
    return orderflow_local.endpoint_url
