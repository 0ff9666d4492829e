"""Fixtures: the real orderflow app (its own cdk.out) on a LocalAws, stocked as `orderflow local up` does.

A package's conftest imports them; package scope then gives each package one stack, stopped when the
package's tests end (a LocalAws left running would hold moto's global mock over the next tests).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.naming import Names, configured_prefix
from localaws.local_aws import LocalAws
from localaws.tools.orders import seed_catalogue
from tests.localaws.support import REPO


@pytest.fixture(scope="package")
def orderflow_names() -> Names:
    return Names(configured_prefix(REPO / "cdk.json"))


@pytest.fixture(scope="package")
def orderflow_assembly() -> Path:
    """The app's own cdk.out (synthesized if missing): the console must show the real definition."""
    out = REPO / "cdk.out"
    if not (out / "manifest.json").is_file():
        environment = {**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1"}
        subprocess.run(
            [str(REPO / "node_modules/.bin/cdk"), "synth", "-q"], cwd=REPO, env=environment, check=True
        )
    return out


@pytest.fixture(scope="package")
def orderflow_local(orderflow_assembly: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    local = LocalAws(
        cdk_out=orderflow_assembly,
        port=0,
        run_dir=tmp_path_factory.mktemp("console-localaws"),
        watch_assembly=False,
    )
    local.start()
    try:
        seed_catalogue(local.report)  # what `orderflow local up` stocks, so that orders can complete
        yield local
    finally:
        local.stop()
