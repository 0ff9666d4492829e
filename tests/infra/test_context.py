"""The prefix reaches every name through the CDK context, as `cdk synth -c prefix=…` or CDK_CONTEXT_JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
