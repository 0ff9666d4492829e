"""A template deployer on a fresh moto, for the tests that deploy hand-written templates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from localaws.deploy.deployer import TemplateDeployer
from tests.localaws.deploy.support import REGION


@pytest.fixture
def deployer(tmp_path: Path) -> Iterator[TemplateDeployer]:
    with mock_aws():
        yield TemplateDeployer(region=REGION, account_id="123456789012", run_dir=tmp_path / "run")
