"""Fixtures: the real orderflow stack with its imports bucket, on a LocalAws whose CloudWatch runs fast."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.naming import Names
from localaws.endpoint.defaults import DEFAULT_ACCOUNT_ID, DEFAULT_REGION
from localaws.local_aws import LocalAws
from localaws.tools.orders import seed_catalogue
from tests.localaws.orderflow_stack import orderflow_assembly, orderflow_names

__all__ = ["orderflow_assembly", "orderflow_names"]


@pytest.fixture(scope="package")
def import_stack(orderflow_assembly: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    # A DLQ alarm evaluates over one-minute periods; 1/60 makes that a second, as `make demo` does.
    local = LocalAws(
        cdk_out=orderflow_assembly,
        port=0,
        run_dir=tmp_path_factory.mktemp("importer-localaws"),
        watch_assembly=False,
        time_scale=1 / 60,
    )
    local.start()
    try:
        seed_catalogue(local.report)
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="package")
def import_bucket(import_stack: LocalAws, orderflow_names: Names) -> str:
    return orderflow_names.import_bucket(DEFAULT_ACCOUNT_ID, DEFAULT_REGION)
