"""The prefix reaches every name through the CDK context, as `cdk synth -c prefix=…` or CDK_CONTEXT_JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest

from infra.app import InvalidContextError, import_pace
from infra.importer import ImportPace
from infra.naming import InvalidPrefixError, Names

REPO = Path(__file__).resolve().parents[2]


def test_cdk_context_json_prefixes_the_synthesized_template(tmp_path: Path) -> None:
    # Given the app run the way the CDK CLI runs it, with the prefix in CDK_CONTEXT_JSON
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps({"prefix": "qq7"}), "CDK_OUTDIR": str(tmp_path)}
    # When it synthesizes
    subprocess.run([sys.executable, "app.py"], cwd=REPO, env=env, check=True, capture_output=True)
    # Then the stack and its resources are named with that prefix
    template = json.loads((tmp_path / "Orderflow.template.json").read_text())
    queue_names = [
        r["Properties"]["QueueName"] for r in template["Resources"].values() if r["Type"] == "AWS::SQS::Queue"
    ]
    assert queue_names and all(n.startswith("qq7-") for n in queue_names)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["artifacts"]["Orderflow"]["properties"]["stackName"] == "qq7-stack"


@pytest.mark.parametrize("prefix", ["", "UPPER", "has space", "x" * 30, "9starts-with-digit"])
def test_a_prefix_that_cannot_name_resources_is_refused(prefix: str) -> None:
    with pytest.raises(InvalidPrefixError, match="prefix"):
        Names(prefix)


def test_fifo_names_keep_their_suffix_last() -> None:
    names = Names("ab")
    assert names("inventory.fifo") == "ab-inventory.fifo"
    assert names.dlq("inventory.fifo") == "ab-inventory-dlq.fifo"
    assert names.dlq("shipping") == "ab-shipping-dlq"


def test_the_import_pace_comes_from_the_context() -> None:
    app = cdk.App(
        context={"importOrdersPerSecond": "2.5", "importMaxQueueBacklog": 7, "importMaxRunningOrders": 40}
    )
    assert import_pace(app) == ImportPace(orders_per_second=2.5, max_queue_backlog=7, max_running_orders=40)
    assert import_pace(cdk.App()) == ImportPace()


@pytest.mark.parametrize(
    ("context", "named"),
    [
        ({"importOrdersPerSecond": 0}, "importOrdersPerSecond"),
        ({"importOrdersPerSecond": "fast"}, "importOrdersPerSecond"),
        ({"importMaxQueueBacklog": -1}, "importMaxQueueBacklog"),
        ({"importMaxRunningOrders": -1}, "importMaxRunningOrders"),
        ({"importMaxRunningOrders": 1000}, "importMaxRunningOrders"),
    ],
)
def test_an_unusable_import_pace_is_refused_by_name(context: dict[str, object], named: str) -> None:
    with pytest.raises(InvalidContextError, match=named):
        import_pace(cdk.App(context=context))
