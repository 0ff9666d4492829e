"""Fixtures: the real orderflow assembly on a LocalAws, and the console served beside it on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.naming import Names, configured_prefix
from localaws.console import ConsoleApp
from localaws.runtime import LocalAws

REPO = Path(__file__).resolve().parents[2]
HISTORIES = Path(__file__).parent / "histories"
CATALOGUE = [f"SKU-{n}" for n in range(1, 21)]


def recorded(name: str) -> dict[str, Any]:
    """A history recorded from LocalAws (``status`` and ``events``), or the recorded definition."""
    return dict(json.loads((HISTORIES / f"{name}.json").read_text()))


def wait_for(check: Callable[[], Any], *, timeout: float = 30.0, every: float = 0.25) -> Any:
    """``check()``'s first truthy value; fails the test if none comes within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"nothing after {timeout} s: {check}")
        time.sleep(every)


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
def orderflow_local(
    orderflow_assembly: Path, orderflow_names: Names, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalAws]:
    local = LocalAws(
        cdk_out=orderflow_assembly,
        port=0,
        run_dir=tmp_path_factory.mktemp("console-localaws"),
        watch_assembly=False,
    )
    local.start()
    try:
        dynamodb = local.client("dynamodb")
        for sku in CATALOGUE:  # what `orderflow local up` stocks, so that orders can complete
            dynamodb.put_item(
                TableName=orderflow_names("inventory"),
                Item={"sku": {"S": sku}, "recordId": {"S": "STOCK"}, "available": {"N": "1000"}},
            )
        yield local
    finally:
        local.stop()


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
