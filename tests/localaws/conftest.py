"""Fixtures: a tiny CDK app synthesized once per session, a running LocalAws on a free port, and the bare
endpoint."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from localaws.endpoint.defaults import MOTO_CONFIG
from localaws.endpoint.server import LocalEndpoint
from localaws.local_aws import LocalAws
from localaws.patches import corrections, speedups
from tests.localaws.support import serving

FIXTURE_APP = Path(__file__).parent / "fixture_app" / "app.py"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[LocalEndpoint]:
    """The bare endpoint (no deployed stack, only the patches its own start installs), one per module."""
    with serving() as served:
        yield served


@pytest.fixture
def still_heap() -> Iterator[None]:
    """Leave the objects from before the test out of the garbage collections during it.

    For tests that count real seconds against short heartbeats. A full collection stops every thread, and late
    in `make test` the process holds about a million objects: collections of them took 1.0-1.9 s (measured
    with ``gc.callbacks`` in a full run), and one came between two of a worker's 0.4 s-apart heartbeats to a
    task with a 1 s heartbeat, which then timed out.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@pytest.fixture
def engine_with_fixes(still_heap: None) -> Iterator[None]:
    """moto's world with the stack's speed-ups and corrections and no endpoint: the engine in-process."""
    with mock_aws(config=MOTO_CONFIG):
        speedups.install()
        corrections.CORRECTIONS.install()
        try:
            yield
        finally:
            corrections.CORRECTIONS.uninstall()
            speedups.uninstall()


@pytest.fixture(scope="session")
def fixture_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """cdk.out of the fixture app: FIFO queue without a name, rule on a custom bus, Lambda + ESM, alarm..."""
    out = tmp_path_factory.mktemp("fixture-cdk-out")
    environment = {**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1"}
    subprocess.run(
        [sys.executable, str(FIXTURE_APP), str(out)], check=True, env=environment, capture_output=True
    )
    return out


@pytest.fixture(scope="module")
def local_aws(fixture_assembly: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    local = LocalAws(
        cdk_out=fixture_assembly,
        port=0,
        run_dir=tmp_path_factory.mktemp("localaws-run"),
        watch_assembly=False,
    )
    local.start()
    try:
        yield local
    finally:
        local.stop()
